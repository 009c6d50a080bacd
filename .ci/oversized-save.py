# Times save_campaign with 100k + 100k disjoint channel ids (issue 12, item 2) against a running
# Herald on loopback, beside a tiny invalid save on the same path as the baseline of the same run.
# Usage: python3 .ci/oversized-save.py http://127.0.0.1:3000   (signs up a throwaway user)
import json, sys, time, urllib.request, http.cookiejar
base = sys.argv[1]
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
def post(path, data, ctype):
    req = urllib.request.Request(base + path, data=data, method='POST',
        headers={'Origin': base, 'Content-Type': ctype})
    try:
        r = op.open(req, timeout=60); return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
email = 'timer%d%%40example.com' % int(time.time() * 1000)
form = 'input[email]=' + email + '&input[password]=violet+harbour+42+kites&input[account_name]=Timer+Ads&input[time_zone]=Europe%2FBerlin'
print('sign_up', post('/api/sign_up', form.encode(), 'application/x-www-form-urlencoded')[0])
st, body = post('/api/viewer', b'', 'application/x-www-form-urlencoded')
account = json.loads(body)['current_account']
st, body = post('/api/campaign_builder', b'', 'application/x-www-form-urlencoded')
f = json.loads(body)['form']
f['name'] = 'Flood'; f['total_budget'] = '250'
f['targeting']['languages'] = ['en']; f['targeting']['bid'] = '1.50'
n = 100_000
f['targeting']['include'] = list(range(1, n + 1))
f['targeting']['exclude'] = list(range(n + 1, 2 * n + 1))
payload = json.dumps({'account': account, 'id': None, 'form': f}).encode()
print('body bytes', len(payload))
times = []
for i in range(12):
    t = time.perf_counter(); st, out = post('/api/save_campaign', payload, 'application/json'); dt = (time.perf_counter() - t) * 1000
    assert st == 422, (st, out[:200])
    times.append(dt)
times.sort()
print('status 422; ms per request: min %.1f median %.1f max %.1f' % (times[0], times[len(times)//2], times[-1]))
# baseline in the same run: a tiny refused save (one bad field), same path, same session
f2 = dict(f); f2['targeting'] = dict(f['targeting']); f2['targeting']['include'] = [1]; f2['targeting']['exclude'] = []; f2['total_budget'] = 'x'
small = json.dumps({'account': account, 'id': None, 'form': f2}).encode()
b = []
for i in range(12):
    t = time.perf_counter(); st, out = post('/api/save_campaign', small, 'application/json'); b.append((time.perf_counter() - t) * 1000)
b.sort()
print('baseline (tiny invalid save, status %d): median %.1f ms' % (st, b[len(b)//2]))
