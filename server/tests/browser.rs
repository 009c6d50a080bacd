//! Browser tests: headless Chromium (through chromedriver) against a real server serving the
//! release wasm bundle. They check the main journeys, that the page hydrates, and that the
//! browser console stays free of errors (CSP violations included).

mod support;

use fantoccini::Locator;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use support::{PASSWORD, browser::*};

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_see_the_dashboard_sign_out_and_sign_in_again() {
    let (app, _driver, client) = start().await;

    client
        .goto(&app.url("/sign-up"))
        .await
        .expect("open sign-up");
    hydrated(&client).await;
    // Bad input first: the messages appear beside the fields and what was typed stays.
    fill(&client, "#sign-up-email", "ada@example.com").await;
    fill(&client, "#sign-up-password", "short").await;
    fill(&client, "#sign-up-account", "Ada's Ads").await;
    submit(&client).await;
    until_contains(&client, "#sign-up-password-error", "10 and 128").await;
    let kept = client
        .find(Locator::Css("#sign-up-email"))
        .await
        .expect("email")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(
        kept.as_deref(),
        Some("ada@example.com"),
        "the form keeps what was typed"
    );

    fill(&client, "#sign-up-password", PASSWORD).await;
    submit(&client).await;
    wait_for_path(&client, "/").await;
    until_contains(&client, "h1", "Dashboard").await;
    assert_eq!(text_of(&client, ".account-title").await, "Ada's Ads");
    assert!(
        text_of(&client, ".user-email")
            .await
            .contains("ada@example.com")
    );

    // Sign out from the user menu.
    client
        .find(Locator::Css(".user-menu-button"))
        .await
        .expect("menu")
        .click()
        .await
        .expect("open");
    wait_for(&client, "#sign-out")
        .await
        .click()
        .await
        .expect("sign out");
    wait_for_path(&client, "/sign-in").await;
    client.goto(&app.url("/")).await.expect("open dashboard");
    wait_for_path(&client, "/sign-in").await;

    // Sign in again; the password toggle is interactive only once hydrated.
    hydrated(&client).await;
    fill(&client, "#sign-in-email", "ada@example.com").await;
    fill(&client, "#sign-in-password", PASSWORD).await;
    let password = client
        .find(Locator::Css("#sign-in-password"))
        .await
        .expect("password");
    assert_eq!(
        password.attr("type").await.expect("type").as_deref(),
        Some("password")
    );
    client
        .find(Locator::Css("#toggle-password"))
        .await
        .expect("toggle")
        .click()
        .await
        .expect("click");
    assert_eq!(
        password.attr("type").await.expect("type").as_deref(),
        Some("text"),
        "hydrated toggle"
    );
    submit(&client).await;
    wait_for_path(&client, "/").await;
    until_contains(&client, "h1", "Dashboard").await;

    // On a phone the navigation folds behind "Menu"; a link followed from it closes it.
    let campaigns = "nav.side-nav a[href='/campaigns']";
    let menu = "nav.side-nav button.nav-menu-button";
    assert!(
        displayed(&client, campaigns).await,
        "wide: the links are always shown"
    );
    assert!(!displayed(&client, menu).await, "wide: no Menu button");
    client.set_window_size(390, 900).await.expect("phone");
    assert!(
        !displayed(&client, campaigns).await,
        "phone: the links start folded"
    );
    assert!(
        text_of(&client, menu).await.ends_with("Menu"),
        "labelled Menu"
    );
    click(&client, menu).await;
    assert!(
        displayed(&client, campaigns).await,
        "phone: Menu shows the links"
    );
    click(&client, campaigns).await;
    wait_for_path(&client, "/campaigns").await;
    until_contains(&client, "h1", "Campaigns").await;
    assert!(
        !displayed(&client, campaigns).await,
        "the menu closes on the page it led to"
    );
    // A menu left open when the window widens (a phone turned sideways) closes: the links
    // are then in the sidebar.
    click(&client, menu).await;
    let open = || async {
        client
            .execute(
                "return document.getElementById('nav-links').matches(':popover-open')",
                vec![],
            )
            .await
            .expect("ask the menu")
            == json!(true)
    };
    assert!(open().await, "phone: Menu opened again");
    client.set_window_size(1280, 900).await.expect("wide");
    for _ in 0..50 {
        if !open().await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!open().await, "widened: the open menu closed");
    assert!(
        displayed(&client, campaigns).await,
        "wide again: the links are shown"
    );

    client
        .goto(&app.url("/account"))
        .await
        .expect("open account");
    hydrated(&client).await;
    assert!(text_of(&client, "table").await.contains("ada@example.com"));

    // The refused sign-up above answers 422 on purpose.
    let problems = console_problems_except_422(&client, "/api/sign_up").await;
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_reported_on_the_form_without_losing_the_email() {
    let (app, _driver, client) = start().await;
    app.client().sign_up("ada@example.com", PASSWORD).await;
    client
        .goto(&app.url("/sign-in"))
        .await
        .expect("open sign-in");
    hydrated(&client).await;
    fill(&client, "#sign-in-email", "ada@example.com").await;
    fill(&client, "#sign-in-password", "not the password").await;
    submit(&client).await;
    let banner = text_of(&client, ".banner.error").await;
    assert_eq!(banner, "Email or password is incorrect.");
    let kept = client
        .find(Locator::Css("#sign-in-email"))
        .await
        .expect("email")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some("ada@example.com"));
    let current = client.current_url().await.expect("url");
    assert_eq!(current.path(), "/sign-in");
    // The refused sign-in answers 422 on purpose.
    let problems = console_problems_except_422(&client, "/api/sign_in").await;
    assert!(problems.is_empty(), "console problems: {problems:#?}");

    // Forgot it: the sign-in page's link asks for the address and mails a link to choose a
    // new one.
    client
        .find(Locator::LinkText("Forgot your password?"))
        .await
        .expect("the link beside the form")
        .click()
        .await
        .expect("open it");
    wait_for_path(&client, "/forgot-password").await;
    hydrated(&client).await;
    fill(&client, "#forgot-email", "ada@example.com").await;
    submit(&client).await;
    until_contains(&client, "[data-test=reset-sent]", "emailed it a link").await;
    // The answer does not wait for the mail (so it takes as long for any address).
    let db = &app.db;
    support::count_reaches("reset mails", 1, || async move {
        app::entity::outbox_message::Entity::find()
            .filter(app::entity::outbox_message::Column::Kind.eq("password_reset"))
            .count(db)
            .await
            .expect("outbox")
    })
    .await;
    assert!(console_problems(&client).await.is_empty());
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread")]
async fn targeting_updates_the_forecast_live_and_includes_a_channel_found_by_search() {
    let (app, _driver, client) = start_with_catalog(3_000).await;
    sign_in(&app, &client, "ads@example.com").await;
    client
        .goto(&app.url("/targeting"))
        .await
        .expect("open targeting");
    hydrated(&client).await;
    let everything = text_of(&client, "[data-test=channels]").await;

    // A topic, then a size range: the numbers change without a page load.
    let marker = "window.__same_page = true";
    client.execute(marker, vec![]).await.expect("mark page");
    wait_for(&client, "input[name=topic][value=crypto]")
        .await
        .click()
        .await
        .expect("tick crypto");
    let crypto = changed(&client, "[data-test=channels]", &everything).await;
    fill(&client, "#t-min-subs", "5k").await;
    let sized = changed(&client, "[data-test=channels]", &crypto).await;
    let (all, crypto_n, sized_n) = (number(&everything), number(&crypto), number(&sized));
    assert!(
        all > crypto_n && crypto_n > sized_n && sized_n > 0,
        "{all} > {crypto_n} > {sized_n} > 0"
    );
    let same_page = client
        .execute("return window.__same_page === true", vec![])
        .await
        .expect("js");
    assert_eq!(same_page, json!(true), "no page reload");
    let url = client.current_url().await.expect("url");
    assert!(
        url.query()
            .is_some_and(|q| q.contains("topic=crypto") && q.contains("min_subs=5k")),
        "{url}"
    );

    // Include one channel found by searching for it: the forecast is that channel alone.
    fill(&client, "#t-find", "crypto").await;
    let first = wait_for(&client, ".search-results li .handle")
        .await
        .text()
        .await
        .expect("handle");
    wait_for(&client, ".search-results li button[name=add_inc]")
        .await
        .click()
        .await
        .expect("include");
    let chip = text_of(&client, "[data-test=included] .chip span").await;
    assert_eq!(chip, first);
    let only = changed(&client, "[data-test=channels]", &sized).await;
    assert_eq!(only, "1");
    assert_eq!(text_of(&client, ".forecast tbody .handle").await, first);

    // A bad bid: the message is beside the field and the form keeps what was typed.
    fill(&client, "#t-bid", "abc").await;
    until_contains(&client, "#t-bid-error", "amount").await;
    let kept = client
        .find(Locator::Css("#t-bid"))
        .await
        .expect("bid")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some("abc"));

    let problems = console_problems(&client).await;
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_invites_and_the_invitee_signs_up_through_the_mailed_link() {
    let (app, _driver, owner) = start().await;
    sign_in(&app, &owner, "ada@example.com").await;
    owner
        .goto(&app.url("/account"))
        .await
        .expect("open account");
    hydrated(&owner).await;
    fill(&owner, "#invite-email", "bob@example.com").await;
    wait_for(&owner, "#invite-role option[value=Analyst]")
        .await
        .click()
        .await
        .expect("choose analyst");
    wait_for(&owner, ".invite-form button[type=submit]")
        .await
        .click()
        .await
        .expect("create link");
    let link = wait_for(&owner, "#invite-link")
        .await
        .prop("value")
        .await
        .expect("value")
        .expect("a link");
    assert!(link.starts_with(&app.url("/invite/")), "{link}");
    let pending = text_of(&owner, "tr[data-invitation='bob@example.com']").await;
    assert!(pending.contains("Analyst"), "{pending}");
    let problems = console_problems(&owner).await;
    assert!(problems.is_empty(), "owner console problems: {problems:#?}");

    // The invitation also went out by mail; only the mailed link proves Bob holds the address
    // (the copied one joins confirmed users only). A second browser (its own profile and
    // cookies) follows it and signs up.
    let token = support::mailed_token(&app, "bob@example.com", "/invite/").await;
    assert!(!link.ends_with(&token), "the mail carries its own token");
    let second = start_driver().await;
    let bob = browser(&second).await;
    bob.goto(&app.url(&format!("/invite/{token}")))
        .await
        .expect("open the mailed link");
    hydrated(&bob).await;
    assert_eq!(
        text_of(&bob, "[data-test=invite-account]").await,
        "Test Ads"
    );
    assert_eq!(text_of(&bob, "[data-test=invite-role]").await, "Analyst");
    wait_for(&bob, ".invite-card a.button.primary")
        .await
        .click()
        .await
        .expect("create a login");
    wait_for_path(&bob, "/sign-up").await;
    let note = text_of(&bob, "[data-test=invite-note]").await;
    assert!(
        note.contains("Test Ads") && note.contains("bob@example.com"),
        "{note}"
    );
    assert!(
        bob.find(Locator::Css("#sign-up-account")).await.is_err(),
        "no account of their own to name"
    );
    fill(&bob, "#sign-up-email", "bob@example.com").await;
    fill(&bob, "#sign-up-password", PASSWORD).await;
    submit(&bob).await;
    wait_for_path(&bob, "/").await;
    assert_eq!(text_of(&bob, ".account-title").await, "Test Ads");
    bob.goto(&app.url("/account")).await.expect("open account");
    hydrated(&bob).await;
    let me = text_of(&bob, "tr[data-member='bob@example.com']").await;
    assert!(me.contains("Analyst"), "{me}");
    assert!(
        bob.find(Locator::Css("#invite-email")).await.is_err(),
        "an analyst cannot invite"
    );
    let problems = console_problems(&bob).await;
    assert!(
        problems.is_empty(),
        "invitee console problems: {problems:#?}"
    );
    bob.close().await.expect("close");
    owner.close().await.expect("close");
}

fn number(text: &str) -> u64 {
    text.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a count: {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_previews_a_catalog_file_then_imports_it() {
    let (app, _driver, client) = start_with_catalog(40).await;
    sign_in_staff(&app, &client, "admin@example.com", "admin").await;

    let file = std::env::temp_dir().join(format!("herald-import-{}.csv", std::process::id()));
    std::fs::write(
        &file,
        "handle,title,topic,language,subscribers,avg_views,posts_per_day\n\
         fresh_channel_one,Fresh One,crypto,en,12000,3000,2\n\
         fresh_channel_two,Fresh Two,tech,de,8000,900,1.5\n\
         x,,astrology,zz,-5,1,1\n",
    )
    .expect("write csv");
    client
        .goto(&app.url("/admin/catalog-import"))
        .await
        .expect("open import");
    hydrated(&client).await;
    wait_for(&client, "input[type=file]")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose file");
    wait_for(&client, "main .import-upload button[type=submit]")
        .await
        .click()
        .await
        .expect("preview");

    // The preview: counts and the bad row with its line, nothing written yet.
    let counts = text_of(&client, ".import-counts").await;
    assert!(counts.contains('2') && counts.contains('1'), "{counts}");
    let problems = text_of(&client, ".import-problems").await;
    assert!(
        problems.contains("Unknown topic") && problems.contains('4'),
        "{problems}"
    );
    let url = client.current_url().await.expect("url");
    assert!(
        url.query().is_some_and(|q| q.starts_with("import=")),
        "{url}"
    );

    wait_for(&client, ".import-actions button.primary")
        .await
        .click()
        .await
        .expect("import");
    let done = text_of(&client, ".banner.success").await;
    assert!(
        done.contains("2 channels added") || done.contains("Done: 2"),
        "{done}"
    );
    let _ = std::fs::remove_file(&file);

    client
        .goto(&app.url("/channels?q=fresh_channel"))
        .await
        .expect("open channels");
    hydrated(&client).await;
    let table = text_of(&client, "table.channels tbody").await;
    assert!(
        table.contains("@fresh_channel_one") && table.contains("@fresh_channel_two"),
        "{table}"
    );

    let problems = console_problems(&client).await;
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    client.close().await.expect("close");
}

/// An admin adds a topic from the navigation, is told beside the field when a name is taken,
/// renames it from its line, and advertisers' targeting offers it under its new name.
#[tokio::test(flavor = "multi_thread")]
async fn an_admin_adds_and_renames_a_topic_and_targeting_offers_it() {
    let (app, _driver, client) = start_with_catalog(40).await;
    sign_in_staff(&app, &client, "admin@example.com", "admin").await;

    // Reached by its name in the navigation.
    navigate(&client, "Topics", "/admin/topics").await;
    let before = text_of(&client, "#topics-heading").await;

    // A name another topic goes by is refused beside the field, keeping what was typed.
    fill(&client, "#topic-name", "crypto").await;
    wait_for_xpath(&client, "//button[normalize-space()='Add topic']")
        .await
        .click()
        .await
        .expect("add");
    // (The error's element is there before the answer: wait for its words.)
    until_contains(&client, "#topic-name-error", "already goes by this name").await;

    fill(&client, "#topic-name", "Food & Drink").await;
    wait_for_xpath(&client, "//button[normalize-space()='Add topic']")
        .await
        .click()
        .await
        .expect("add");
    until_contains(&client, ".banner.success", "Topic added").await;
    let row = until_contains(&client, "table[aria-label=Topics] tbody", "food-drink").await;
    assert!(row.contains("Food & Drink"), "{row}");
    assert_ne!(
        text_of(&client, "#topics-heading").await,
        before,
        "the count moved"
    );

    // Renamed from its line: the form below has it chosen.
    wait_for_xpath(&client, "//a[@aria-label='Rename Food & Drink']")
        .await
        .click()
        .await
        .expect("rename link");
    let chosen = until_contains(&client, "#rename-topic option:checked", "food-drink").await;
    assert!(chosen.contains("Food & Drink"), "{chosen}");
    fill(&client, "#rename-name", "Food and Drink").await;
    wait_for_xpath(&client, "//button[normalize-space()='Rename topic']")
        .await
        .click()
        .await
        .expect("rename");
    until_contains(&client, "#rename .banner.success", "Topic renamed").await;
    until_contains(&client, "table[aria-label=Topics] tbody", "Food and Drink").await;

    // Targeting offers it at once on this instance, under its new name and its old slug.
    client
        .goto(&app.url("/targeting"))
        .await
        .expect("open targeting");
    hydrated(&client).await;
    let offered = wait_for_xpath(
        &client,
        "//label[input[@type='checkbox' and @value='food-drink']]",
    )
    .await
    .text()
    .await
    .expect("label");
    assert!(offered.contains("Food and Drink"), "{offered}");

    // The refused name answers 422 on purpose.
    let problems = console_problems_except_422(&client, "/api/admin_save_topic").await;
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    client.close().await.expect("close");
}

/// Granting a role asks for the admin's password again; revoking one does not.
#[tokio::test(flavor = "multi_thread")]
async fn an_admin_grants_a_role_only_with_their_password() {
    let (app, _driver, client) = start().await;
    for email in ["boss@example.com", "fin@example.com"] {
        assert!(
            app.client()
                .sign_up(email, PASSWORD)
                .await
                .status
                .is_success()
        );
    }
    support::grant_staff(&app, "boss@example.com", "admin").await;
    support::confirm(&app, "fin@example.com").await;
    sign_in(&app, &client, "boss@example.com").await;
    hydrated(&client).await;
    navigate(&client, "Users & roles", "/admin/users").await;

    let row = "//tr[td[1][normalize-space()='fin@example.com']]";
    wait_for_xpath(
        &client,
        &format!("{row}//button[normalize-space()='Finance']"),
    )
    .await
    .click()
    .await
    .expect("click Finance");
    let ask = until_contains(&client, ".grant-confirm", "Grant Finance to").await;
    wait_for_xpath(
        &client,
        &format!("{row}//button[normalize-space()='Finance'][@aria-expanded='true']"),
    )
    .await;
    assert!(ask.contains("fin@example.com"), "{ask}");
    // The next move is to type the password: the field has the keyboard's focus.
    let mut focused = serde_json::Value::Null;
    for _ in 0..50 {
        focused = client
            .execute(
                "return document.activeElement && document.activeElement.id",
                vec![],
            )
            .await
            .expect("active element");
        if focused == json!("grant-role-password") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        focused,
        json!("grant-role-password"),
        "the password field has no focus"
    );
    // No password, then a wrong one: told beside the field, nothing granted.
    for (typed, message) in [
        ("", "Enter your current password."),
        ("not the password", "This is not your current password."),
    ] {
        if !typed.is_empty() {
            fill(&client, "#grant-role-password", typed).await;
        }
        click(&client, ".grant-confirm button[type=submit]").await;
        shows(&client, "#grant-role-password-error", message).await;
    }
    let held = |role: &'static str| {
        let db = app.db.clone();
        async move {
            use sea_orm::ConnectionTrait;
            let backend = db.get_database_backend();
            db.query_one_raw(sea_orm::Statement::from_string(
                backend,
                format!(
                    "SELECT COUNT(*) FROM staff_role JOIN app_user ON app_user.id = staff_role.user_id \
                     WHERE email = 'fin@example.com' AND role = '{role}'"
                ),
            ))
            .await
            .expect("count")
            .and_then(|r| r.try_get_by_index::<i64>(0).ok())
            .expect("a count")
        }
    };
    assert_eq!(held("finance").await, 0);

    fill(&client, "#grant-role-password", PASSWORD).await;
    click(&client, ".grant-confirm button[type=submit]").await;
    wait_for_xpath(
        &client,
        &format!("{row}//button[normalize-space()='Finance'][@aria-pressed='true']"),
    )
    .await;
    until_contains(&client, ".banner.success", "Roles changed").await;
    assert_eq!(held("finance").await, 1);
    // The step is left: the address no longer asks, and the form is gone.
    let url = client.current_url().await.expect("url");
    assert!(!url.as_str().contains("grant="), "{url}");
    assert!(
        client.find(Locator::Css(".grant-confirm")).await.is_err(),
        "the confirmation stays open"
    );

    // Revoking is one click.
    click(&client, "button[title='Revoke Finance']").await;
    wait_for_xpath(
        &client,
        &format!("{row}//button[normalize-space()='Finance'][@title='Grant Finance']"),
    )
    .await;
    assert_eq!(held("finance").await, 0);

    // The two refused grants answer 422 on purpose.
    let problems = console_problems_except_422(&client, "/api/admin_change_role").await;
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    client.close().await.expect("close");
}
