//! edgegap-api: typed clients for the Edgegap Integration API, a matchmaker and the server browser.
//!
//! The data types (above all the [`Beacon`] list in both published shapes) compile without the
//! `http` feature, so a game client can parse a beacon list without linking an HTTP stack.

pub mod beacon;

pub use beacon::{Beacon, BeaconListError, LocationData, parse_beacon_list};
