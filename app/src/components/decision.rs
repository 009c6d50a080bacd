//! A moderator's decision as both sides read it (verdict, cited reasons linked to their
//! guideline, the field, the note, where an appeal stands), and a word-level diff.

use crate::{
    model::{AppealState, DecisionView, DiffPart, Verdict},
    pages::utc,
};
use leptos::prelude::*;

/// One decision; `children` (an appeal form, say) go at its end.
#[component]
pub fn DecisionCard(
    decision: DecisionView,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let tone = match decision.verdict {
        Verdict::Approved => "ok",
        Verdict::Declined => "bad",
    };
    let heading = if decision.is_appeal {
        format!("Appeal: {}", decision.verdict.label().to_lowercase())
    } else {
        decision.verdict.label().to_owned()
    };
    let appeal_line = match decision.appeal {
        AppealState::Waiting => Some("Appealed — a different moderator is reviewing it."),
        AppealState::Decided => Some("Appealed — see the appeal's decision."),
        _ => None,
    };
    view! {
        <article class=format!("decision decision-{}", decision.verdict.code()) data-test="decision">
            <header class="decision-head">
                <span class=format!("badge {tone}")>{heading}</span>
                <span class="decision-subject">{decision.subject.clone()}</span>
                <span class="muted small">{utc(decision.decided_at)}</span>
            </header>
            {(!decision.reasons.is_empty()).then(|| view! {
                <ul class="decision-reasons">
                    {decision.reasons.iter().map(|r| view! {
                        <li><a href=r.href() data-test="reason-link">{r.title.clone()}</a></li>
                    }).collect_view()}
                </ul>
            })}
            {decision.field.map(|f| view! { <p class="small"><span class="muted">"Concerns: "</span>{f.label()}</p> })}
            {(!decision.note.is_empty()).then(|| view! {
                <blockquote class="decision-note" data-test="decision-note">{decision.note.clone()}</blockquote>
            })}
            {decision.appeal_message.clone().map(|m| view! {
                <p class="small"><span class="muted">"Appeal: "</span>{m}</p>
            })}
            {appeal_line.map(|l| view! { <p class="small muted">{l}</p> })}
            {children.map(|c| c())}
        </article>
    }
}

/// Text with removed words struck through and added words highlighted.
#[component]
pub fn WordDiff(parts: Vec<DiffPart>) -> impl IntoView {
    view! {
        <p class="word-diff" data-test="word-diff">
            {parts.into_iter().map(|p| {
                let class = p.change.class();
                match p.change {
                    crate::model::Change::Added => view! { <ins class=class>{p.text}</ins> }.into_any(),
                    crate::model::Change::Removed => view! { <del class=class>{p.text}</del> }.into_any(),
                    crate::model::Change::Same => view! { <span class=class>{p.text}</span> }.into_any(),
                }
            }).collect_view()}
        </p>
    }
}
