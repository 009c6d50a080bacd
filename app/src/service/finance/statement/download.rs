//! A statement as a CSV file: one row per line, with the opening, section totals and closing.

use crate::{
    error::AppError,
    model::{Micros, Statement},
    service::reports::export,
};
use chrono::NaiveDate;

/// The file name a statement is downloaded under.
pub fn csv_file_name(s: &Statement) -> String {
    format!("herald-statement-{}-{}.csv", s.account.0, s.month)
}

/// The statement as CSV: `section,day,description,amount,amount_micros,currency`, from the
/// opening balance through each section's lines and total to the closing balance. Amounts
/// are signed as they changed the funds, with the currency's two decimals and the exact
/// micro-units beside them; text a spreadsheet would run as a formula is neutralised.
pub fn statement_csv(s: &Statement) -> Result<String, AppError> {
    let csv_err = |e: csv::Error| AppError::internal("csv", e);
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "section",
        "day",
        "description",
        "amount",
        "amount_micros",
        "currency",
    ])
    .map_err(csv_err)?;
    let mut row = |section: &str, day: Option<NaiveDate>, about: &str, amount: Micros| {
        let day = day.map(|d| d.to_string()).unwrap_or_default();
        out.write_record([
            section,
            day.as_str(),
            export::neutralise(about).as_str(),
            export::decimals(amount).as_str(),
            amount.0.to_string().as_str(),
            s.currency.as_str(),
        ])
    };
    row("opening", Some(s.first_day), "Opening balance", s.opening).map_err(csv_err)?;
    for ((heading, section), code) in
        s.sections()
            .into_iter()
            .zip(["top_up", "spend", "refund", "correction"])
    {
        for line in &section.lines {
            row(code, line.day, &line.about, line.amount).map_err(csv_err)?;
        }
        row("total", None, heading, section.total).map_err(csv_err)?;
    }
    let closing = s.closing_label();
    row("closing", Some(s.last_day), &closing, s.closing).map_err(csv_err)?;
    row(
        "closing_available",
        None,
        "Of which available",
        s.closing_available,
    )
    .map_err(csv_err)?;
    row(
        "closing_held",
        None,
        "Of which held for won slots",
        s.closing_held,
    )
    .map_err(csv_err)?;
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::internal("csv", e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal("csv", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, CampaignId, StatementLine, StatementSection};

    fn line(about: &str, day: Option<u32>, amount: i64) -> StatementLine {
        StatementLine {
            at: None,
            day: day.and_then(|d| NaiveDate::from_ymd_opt(2026, 11, d)),
            about: about.into(),
            campaign: day.is_none().then_some(CampaignId(7)),
            amount: Micros(amount),
        }
    }

    fn section(lines: Vec<StatementLine>) -> StatementSection {
        let total = Micros(lines.iter().map(|l| l.amount.0).sum());
        StatementSection { lines, total }
    }

    #[test]
    fn the_csv_lists_every_line_with_totals_and_neutralised_text() {
        let first_day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default();
        let s = Statement {
            account: AccountId(42),
            payment_reference: "RF42 HERA LD42".into(),
            account_name: "Acme".into(),
            currency: "EUR".into(),
            month: "2026-11".into(),
            time_zone: "UTC".into(),
            from: first_day.and_time(chrono::NaiveTime::MIN).and_utc(),
            to: first_day.and_time(chrono::NaiveTime::MIN).and_utc(),
            first_day,
            last_day: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default(),
            in_progress: false,
            final_from: first_day.and_time(chrono::NaiveTime::MIN).and_utc(),
            is_final: true,
            opening: Micros(1_000_000),
            top_ups: section(vec![line("=SUM(A1)", Some(3), 50_000_000)]),
            spend: section(vec![line("Campaign “Spring”", None, -12_345_678)]),
            refunds: StatementSection::default(),
            corrections: StatementSection::default(),
            closing: Micros(38_654_322),
            closing_available: Micros(30_000_000),
            closing_held: Micros(8_654_322),
        };
        assert!(s.balances());
        assert_eq!(csv_file_name(&s), "herald-statement-42-2026-11.csv");
        let text = statement_csv(&s).unwrap_or_default();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(
            rows,
            [
                "section,day,description,amount,amount_micros,currency",
                "opening,2026-11-01,Opening balance,1.00,1000000,EUR",
                "top_up,2026-11-03,'=SUM(A1),50.00,50000000,EUR",
                "total,,Top-ups,50.00,50000000,EUR",
                "spend,,Campaign “Spring”,-12.35,-12345678,EUR",
                "total,,Spend by campaign,-12.35,-12345678,EUR",
                "total,,Refunds,0.00,0,EUR",
                "total,,Corrections,0.00,0,EUR",
                "closing,2026-11-30,Closing balance,38.65,38654322,EUR",
                "closing_available,,Of which available,30.00,30000000,EUR",
                "closing_held,,Of which held for won slots,8.65,8654322,EUR",
            ]
        );
        // Read in the minutes after the month's end, the closing balance says it may change.
        let provisional = Statement {
            is_final: false,
            final_from: s.to + chrono::TimeDelta::minutes(5),
            ..s
        };
        let text = statement_csv(&provisional).unwrap_or_default();
        assert!(
            text.contains(
                "closing,2026-11-30,Closing balance (provisional until 2026-11-01 00:05 UTC),38.65"
            ),
            "{text}"
        );
    }
}
