//! Behaviour of the ranking, the payload, the report and the early decision.

mod common;
mod decide;
mod near_tie;
mod properties;
mod ranking;
mod report;
