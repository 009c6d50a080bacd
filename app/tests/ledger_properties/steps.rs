//! What a case is made of: its setup and its steps, and the strategies that draw them.

use crate::SECOND_ZONES;
use proptest::prelude::*;

#[derive(Clone, Debug)]
pub struct CampaignSpec {
    pub account: usize,
    pub bid_cents: i64,
    pub total_units: i64,
    pub daily_units: Option<i64>,
    /// Approved at the start; otherwise it waits for an `Approve` step.
    pub launched: bool,
}

#[derive(Clone, Debug)]
pub struct Setup {
    pub start_minutes: i64,
    pub second_tz: &'static str,
    /// (average views, English): only English channels match the campaigns.
    pub channels: Vec<(i64, bool)>,
    pub slots_per_day: i64,
    pub ttl_minutes: i64,
    pub campaigns: Vec<CampaignSpec>,
    pub credits: [i64; 2],
}

#[derive(Clone, Copy, Debug)]
pub enum At {
    /// This far (in percent) from the decision to now.
    Within(u8),
    BeforeDecision,
    Future,
}

#[derive(Clone, Debug)]
pub enum EventOp {
    New {
        decision: usize,
        id: u8,
        views: i64,
        clicks: i64,
        at: At,
    },
    /// An accepted event sent again as it was.
    Resend {
        nth: usize,
    },
    /// An accepted event's id with one more view.
    Mutate {
        nth: usize,
    },
    Unknown {
        id: u8,
        views: i64,
    },
}

#[derive(Clone, Debug)]
pub enum Op {
    TopUp {
        account: usize,
        reference: u8,
        units: i64,
    },
    /// Finance refunds `units` of a top-up (`top_up` 0..4: `ref-N`, 4: the initial credit;
    /// `other`: the other account's top-up of that name) under the reference `RF-{reference}`;
    /// `again`: instead, one of the account's refunds sent again as it was.
    Refund {
        account: usize,
        top_up: u8,
        other: bool,
        reference: u8,
        units: i64,
        again: bool,
    },
    Decide {
        channel: usize,
        slot: u8,
    },
    Events(Vec<EventOp>),
    Edit {
        campaign: usize,
        bid_cents: i64,
        total_units: i64,
        daily_units: Option<i64>,
    },
    Pause {
        campaign: usize,
    },
    Resume {
        campaign: usize,
    },
    PauseAd {
        campaign: usize,
        ad: usize,
        paused: bool,
    },
    NewAd {
        campaign: usize,
        approve: bool,
    },
    EditAd {
        campaign: usize,
        ad: usize,
        approve: bool,
    },
    Approve {
        campaign: usize,
    },
    Share(i64),
    MinCpm(i64),
    HoldTtl(i64),
    Sweep {
        limit: u64,
    },
    Advance {
        seconds: i64,
    },
}

pub fn setup() -> impl Strategy<Value = Setup> {
    let campaign = (
        0..2usize,
        50..=300i64,
        20..=60i64,
        prop::option::weighted(0.6, 3..=25i64),
        prop::bool::weighted(0.8),
    )
        .prop_map(
            |(account, bid_cents, total_units, daily, launched)| CampaignSpec {
                account,
                bid_cents,
                total_units,
                daily_units: daily.map(|d| d.min(total_units)),
                launched,
            },
        );
    (
        0..3 * 24 * 60i64,
        prop::sample::select(SECOND_ZONES.to_vec()),
        prop::collection::vec(
            (
                prop::sample::select(vec![300i64, 1_200, 2_500, 5_000, 9_000, 14_000]),
                prop::bool::weighted(0.85),
            ),
            3..=6,
        ),
        1..=5i64,
        prop::sample::select(vec![30i64, 120, 1_440]),
        prop::collection::vec(campaign, 2..=3),
        [credit_units(), credit_units()],
    )
        .prop_map(
            |(
                start_minutes,
                second_tz,
                channels,
                slots_per_day,
                ttl_minutes,
                campaigns,
                credits,
            )| {
                Setup {
                    start_minutes,
                    second_tz,
                    channels,
                    slots_per_day,
                    ttl_minutes,
                    campaigns,
                    credits,
                }
            },
        )
}

/// An account's first credit, in units: usually some, sometimes none.
fn credit_units() -> impl Strategy<Value = i64> {
    prop_oneof![1 => Just(0i64), 4 => 10..=80i64]
}

fn event_op() -> impl Strategy<Value = EventOp> {
    let at = prop_oneof![
        8 => (0..=100u8).prop_map(At::Within),
        1 => Just(At::BeforeDecision),
        1 => Just(At::Future),
    ];
    let views = prop_oneof![1 => Just(0i64), 6 => 1..400i64, 3 => 400..4_000i64];
    prop_oneof![
        8 => (0..64usize, 0..24u8, views, 0..4i64, at).prop_map(|(decision, id, views, clicks, at)| {
            EventOp::New { decision, id, views, clicks, at }
        }),
        3 => (0..64usize).prop_map(|nth| EventOp::Resend { nth }),
        1 => (0..64usize).prop_map(|nth| EventOp::Mutate { nth }),
        1 => (0..24u8, 1..100i64).prop_map(|(id, views)| EventOp::Unknown { id, views }),
    ]
}

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 0..4u8, prop::sample::select(vec![5i64, 10, 25, 60, 150]))
            .prop_map(|(account, reference, units)| Op::TopUp { account, reference, units }),
        2 => (
            0..2usize,
            prop_oneof![3 => Just(4u8), 2 => 0..4u8],
            prop::bool::weighted(0.1),
            0..3u8,
            prop::sample::select(vec![1i64, 5, 20, 60, 200]),
            prop::bool::weighted(0.2),
        )
            .prop_map(|(account, top_up, other, reference, units, again)| Op::Refund {
                account,
                top_up,
                other,
                reference,
                units,
                again,
            }),
        9 => (0..6usize, 0..16u8).prop_map(|(channel, slot)| Op::Decide { channel, slot }),
        8 => prop::collection::vec(event_op(), 1..4).prop_map(Op::Events),
        2 => (0..3usize, 40..=320i64, 15..=70i64, prop::option::of(2..=30i64)).prop_map(
            |(campaign, bid_cents, total_units, daily_units)| Op::Edit {
                campaign,
                bid_cents,
                total_units,
                daily_units,
            }
        ),
        1 => (0..3usize).prop_map(|campaign| Op::Pause { campaign }),
        1 => (0..3usize).prop_map(|campaign| Op::Resume { campaign }),
        1 => (0..3usize, 0..3usize, any::<bool>())
            .prop_map(|(campaign, ad, paused)| Op::PauseAd { campaign, ad, paused }),
        1 => (0..3usize, prop::bool::weighted(0.7))
            .prop_map(|(campaign, approve)| Op::NewAd { campaign, approve }),
        1 => (0..3usize, 0..3usize, prop::bool::weighted(0.7))
            .prop_map(|(campaign, ad, approve)| Op::EditAd { campaign, ad, approve }),
        1 => (0..3usize).prop_map(|campaign| Op::Approve { campaign }),
        1 => prop::sample::select(vec![0i64, 3_333, 5_000, 7_000, 10_000]).prop_map(Op::Share),
        1 => prop::sample::select(vec![500_000i64, 1_000_000, 2_000_000]).prop_map(Op::MinCpm),
        1 => prop::sample::select(vec![20i64, 90, 1_440]).prop_map(Op::HoldTtl),
        2 => (1..5u64).prop_map(|limit| Op::Sweep { limit }),
        5 => prop_oneof![
            4 => 60..3_600i64,
            3 => 3_600..12 * 3_600i64,
            2 => 12 * 3_600..3 * 24 * 3_600i64,
        ]
        .prop_map(|seconds| Op::Advance { seconds }),
    ]
}
