//! edgegap-probe: find the Edgegap location closest to a player.
pub use edgegap_api as api;
pub use edgegap_ping as ping;
pub use edgegap_rank as rank;
