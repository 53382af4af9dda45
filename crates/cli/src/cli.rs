//! The command line, as clap derive types. Every command's `--help` ends with examples.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use edgegap_probe::ProtocolChoice;

use crate::deployable::Deployable;
use crate::source::BeaconFlag;

/// Find the Edgegap location closest to this machine, and hand it to the matchmaker.
#[derive(Debug, Parser)]
#[command(
    name = "edgegap-probe",
    version,
    about,
    long_about = "Find the Edgegap location closest to this machine: probe every Edgegap ping beacon \
                  (UDP, TCP or ICMP), rank the locations, and produce the matchmaker's `beacons` \
                  attribute or submit a ticket with it.",
    after_help = ROOT_HELP
)]
pub struct Cli {
    /// More logs on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Where the matchmaker and the Edgegap API are: accepted before or after any command.
    #[command(flatten)]
    pub connection: Connection,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Examples and exit codes at the end of the root `--help` (a test checks every code of
/// [`crate::exit`] is listed).
const ROOT_HELP: &str = "\
Examples:
  edgegap-probe demo
  edgegap-probe probe --beacons-file beacons.json
  edgegap-probe probe --matchmaker-url https://mm.example.com --json
  edgegap-probe ticket --profile casual \\
      --matchmaker-url https://mm.example.com
  edgegap-probe group create --profile casual \\
      --matchmaker-url https://mm.example.com
  edgegap-probe servers list --probe --beacons-file beacons.json \\
      --server-browser-url https://browser.example.com

Tokens come from --matchmaker-token / --api-token / --server-browser-token or, better, from the
EDGEGAP_MATCHMAKER_TOKEN / EDGEGAP_API_TOKEN / EDGEGAP_SERVER_BROWSER_TOKEN environment
variables; they are never printed.

Exit codes:
  0    success
  1    other error (a file that cannot be read or written, a socket that cannot be opened)
  2    usage error (unknown flag, malformed argument such as a bad --beacon)
  3    no location reachable (every beacon down, blocked or filtered, above --max-latency-ms,
       or none deployable for --deployable-for)
  4    API error (refused token, HTTP error, server unreachable, ticket cancelled)
  5    unusable input (empty beacon list, file of neither beacon-list shape, bad scenario)
  130  interrupted by Ctrl-C (a pending ticket is cancelled first)";

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe simulated beacons on loopback and show the ranking (no account needed).
    #[command(after_help = DEMO_HELP)]
    Demo(DemoArgs),
    /// Probe beacons and rank their locations.
    #[command(after_help = PROBE_HELP)]
    Probe(ProbeArgs),
    /// List the ping beacons of the matchmaker or the Edgegap API.
    #[command(after_help = BEACONS_HELP)]
    Beacons(ListArgs),
    /// List the locations of the matchmaker's beacons or of the Edgegap API.
    #[command(after_help = LOCATIONS_HELP)]
    Locations(LocationsArgs),
    /// Probe, create a matchmaker ticket with the latencies, and wait for the assignment.
    #[command(after_help = TICKET_HELP)]
    Ticket(TicketArgs),
    /// Parties on the matchmaker: create, join (each member with its own latencies), ready,
    /// leave, status.
    #[command(subcommand, after_help = GROUP_HELP)]
    Group(GroupCommand),
    /// The server browser: list (and sort by measured latency), get, reserve seats.
    #[command(subcommand, after_help = SERVERS_HELP)]
    Servers(ServersCommand),
    /// Run simulated beacons on loopback (for testing a game against known latencies).
    #[command(after_help = BEACON_HELP)]
    Beacon(BeaconArgs),
    /// Administer endpoint storage and pull profiles (Edgegap Integration API).
    #[command(after_help = STORAGE_HELP)]
    Storage(StorageArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout.
    #[command(
        after_help = "Example:\n  edgegap-probe man > edgegap-probe.1 && man ./edgegap-probe.1"
    )]
    Man,
}

const COMPLETIONS_HELP: &str = "\
Examples:
  edgegap-probe completions bash \\
      > ~/.local/share/bash-completion/completions/edgegap-probe
  edgegap-probe completions zsh > ~/.zfunc/_edgegap-probe
  edgegap-probe completions fish \\
      > ~/.config/fish/completions/edgegap-probe.fish
  edgegap-probe completions powershell >> $PROFILE";

/// `completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

const DEMO_HELP: &str = "\
Starts ten simulated beacons on 127.0.0.11-20 with realistic delays, jitter and loss (Singapore is
down), probes them like real ones and prints the ranking and the payload a ticket would carry.

Examples:
  edgegap-probe demo
  edgegap-probe demo --json
  edgegap-probe demo --payload

Exit codes: 0 success, 1 error, 2 usage, 3 no location reachable (see edgegap-probe --help).";

const PROBE_HELP: &str = "\
Beacons come from --beacons-file and --beacon (combined), else from the matchmaker
(--matchmaker-url), else from the Edgegap API (--api-token). A beacons file may be the Edgegap
v1 shape {\"locations\": [...]} or the matchmaker shape {\"beacons\": [...]}.

Examples:
  edgegap-probe probe --beacons-file beacons.json
  curl -s ... | edgegap-probe probe --beacons-file - --json
  edgegap-probe probe --beacon Montreal=127.0.0.5:9000 \\
      --beacon Tokyo=127.0.0.6:9000/tcp
  edgegap-probe probe --beacon Paris=192.0.2.7/icmp --beacon Oslo=[::1]:9000
  EDGEGAP_MATCHMAKER_TOKEN=... edgegap-probe probe --payload \\
      --matchmaker-url https://mm.example.com
  EDGEGAP_API_TOKEN=... edgegap-probe probe --protocol tcp --statistic mean \\
      --max-latency-ms 150

ICMP needs permission: run with --protocol udp or tcp, or allow unprivileged ICMP sockets with
  sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"

Exit codes: 0 success, 1 error, 2 usage, 3 no location reachable, 4 API error, 5 unusable
beacon list (see edgegap-probe --help).";

const BEACONS_HELP: &str = "\
Examples:
  EDGEGAP_MATCHMAKER_TOKEN=... edgegap-probe beacons \\
      --matchmaker-url https://mm.example.com
  EDGEGAP_API_TOKEN=... edgegap-probe beacons --json

Exit codes: 0 success, 2 usage, 4 API error (see edgegap-probe --help).";

const LOCATIONS_HELP: &str = "\
With --matchmaker-url: the distinct locations of the matchmaker's beacons.
With an API token: every location of GET /v1/locations.
With --app and --version (API token needed): only the locations with the capacity to deploy
that app version at this time; the API's messages about locations go to stderr.

Examples:
  EDGEGAP_API_TOKEN=... edgegap-probe locations
  EDGEGAP_API_TOKEN=... edgegap-probe locations --app my-game --version v1.2
  edgegap-probe locations --json --matchmaker-token ... \\
      --matchmaker-url https://mm.example.com

Exit codes: 0 success, 2 usage, 4 API error (see edgegap-probe --help).";

const TICKET_HELP: &str = "\
Probes the beacons (by default the matchmaker's own list), creates a ticket whose attribute
(--attribute, default `beacons`) holds the latency of every reachable location, waits for the
assignment and prints it. Ctrl-C deletes the ticket and exits with 130.

The Edgegap API token (--api-token / EDGEGAP_API_TOKEN) is used only when asked for:
--beacons-from api probes the API's beacon list instead of the matchmaker's, and
--deployable-for APP/VERSION sends only locations that can take a deployment now. Passing
--api-url or --api-token on the command line without either is a usage error (a token in
the environment is simply not used).

Examples:
  EDGEGAP_MATCHMAKER_TOKEN=... edgegap-probe ticket --profile casual \\
      --matchmaker-url https://mm.example.com
  edgegap-probe ticket --profile ranked --player-ip 203.0.113.7 --json \\
      --matchmaker-url https://mm.example.com
  EDGEGAP_API_TOKEN=... edgegap-probe ticket --profile casual \\
      --beacons-from api --deployable-for my-game/v1.2 \\
      --matchmaker-url https://mm.example.com

Exit codes: 0 success, 1 error, 2 usage, 3 no location reachable, 4 API error (incl. a ticket
the matchmaker cancelled), 130 interrupted (see edgegap-probe --help).";

const GROUP_HELP: &str = "\
A party on the matchmaker's groups API. `create` and `join` probe like `ticket` (same
beacon sources and probe options) and send this member's own latencies; `create` prints the
group id to share and the owner's member id. Members then say `ready`; once all are, the
matchmaker looks for a match for the whole group (see `status`).

Examples:
  edgegap-probe group create --profile casual \\
      --matchmaker-url https://mm.example.com
  edgegap-probe group join g-123 --profile casual \\
      --matchmaker-url https://mm.example.com
  edgegap-probe group ready g-123 m-456
  edgegap-probe group status g-123 --json
  edgegap-probe group leave g-123 m-456

Exit codes: 0 success, 1 error, 2 usage, 3 no location reachable, 4 API error (see
edgegap-probe --help).";

const SERVERS_HELP: &str = "\
The server browser (its own URL and token: --server-browser-url, --server-browser-token or
EDGEGAP_SERVER_BROWSER_TOKEN). `list --probe` measures each instance's location through its
beacon (beacons from --beacons-file, --beacon, the matchmaker or the Edgegap API, matched by
city and country: the instance's `location`, else its metadata `city` / `country`) and sorts
the instances by that latency, best first.

Examples:
  edgegap-probe servers list --server-browser-url https://browser.example.com
  edgegap-probe servers list --probe --beacons-file beacons.json
  edgegap-probe servers list --probe --matchmaker-url https://mm.example.com
  edgegap-probe servers get 7f3a9c2e --json
  edgegap-probe servers reserve --policy default --user alice --user bob
  edgegap-probe servers reserve 7f3a9c2e --slot team-a --user alice

Exit codes: 0 success, 1 error, 2 usage, 3 nothing reachable (list --probe), 4 API error (see
edgegap-probe --help).";

const BEACON_HELP: &str = "\
Prints the beacon list as JSON on stdout (feed it to `probe --beacons-file`), then serves until
Ctrl-C. Addresses must be loopback (127.0.0.0/8 or ::1): this is a test tool, it never listens on
a real interface. --delay-ms, --jitter-ms and --loss are given once for all beacons or once per
--listen, in the same order.

Examples:
  edgegap-probe beacon --listen 127.0.0.5:9000 --delay-ms 40
  edgegap-probe beacon --listen Montreal=127.0.0.5:9000 --delay-ms 12 \\
      --listen Tokyo=127.0.0.6:9000 --delay-ms 160
  edgegap-probe beacon --scenario crates/sim/scenarios/demo.toml \\
      --shape matchmaker > beacons.json &
  edgegap-probe probe --beacons-file beacons.json";

const STORAGE_HELP: &str = "\
Each subcommand maps to one Integration API call; bodies come from --file (JSON, `-` for stdin)
or from flags. Needs the API token (--api-token or EDGEGAP_API_TOKEN).

Examples:
  edgegap-probe storage endpoint list
  edgegap-probe storage endpoint list --fields name,bucket --json
  edgegap-probe storage endpoint create --name logs --bucket b \\
      --endpoint https://s3.example.com \\
      --access-key-id AKIA... --secret-access-key ...
  edgegap-probe storage endpoint update logs --file endpoint.json
  edgegap-probe storage pull-profile create logs --name maps \\
      --source maps/ --source-type Folder --destination /srv/maps
  edgegap-probe storage pull-profile link logs maps \\
      --app my-game --version v1.2

Exit codes: 0 success, 1 error, 2 usage, 4 API error, 5 unusable body (see edgegap-probe --help).";

/// How to print a probe result (clap flags: one bool each).
#[derive(Debug, Clone, Copy, Default, Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct OutputArgs {
    /// Print the full report as JSON instead of a table.
    #[arg(long, group = "format")]
    pub json: bool,
    /// Print only the ticket attribute object, e.g. {"Montreal": 12.3, "Tokyo": 181.0}.
    #[arg(long, group = "format")]
    pub payload: bool,
    /// Print one CSV row per location (ranked, excluded and unreachable), with a header.
    #[arg(long, group = "format")]
    pub csv: bool,
    /// Show every column of the table, however wide (the default view fits the terminal).
    #[arg(long, conflicts_with_all = ["json", "payload", "csv"])]
    pub wide: bool,
}

/// `demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Output format.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The connection flags, global: every command accepts them wherever they are typed
/// (`edgegap-probe --api-url U storage endpoint list` and `... storage endpoint list --api-url
/// U` alike). The commands get them copied into their own arguments after parsing.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// Base URL of the matchmaker API, e.g. https://abc.edgegap.net
    #[arg(long, value_name = "URL", global = true, value_parser = http_url)]
    pub matchmaker_url: Option<String>,
    /// The matchmaker's token, sent raw in `Authorization`.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "EDGEGAP_MATCHMAKER_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub matchmaker_token: Option<String>,
    /// Base URL of the Edgegap Integration API.
    #[arg(
        long,
        value_name = "URL",
        default_value = DEFAULT_API_URL,
        global = true,
        value_parser = http_url
    )]
    pub api_url: String,
    /// The organisation's API token (backend use only; never ship it in a game).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "EDGEGAP_API_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub api_token: Option<String>,
    /// Base URL of the server browser.
    #[arg(long, value_name = "URL", global = true, value_parser = http_url)]
    pub server_browser_url: Option<String>,
    /// The server browser's token, sent raw in `Authorization`.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "EDGEGAP_SERVER_BROWSER_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub server_browser_token: Option<String>,
}

/// The Integration API's address.
pub const DEFAULT_API_URL: &str = "https://api.edgegap.com";

/// An absolute `http://` or `https://` URL, else a usage error that says to add the scheme.
fn http_url(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        if trimmed.len() > lower.find("://").unwrap_or(0) + 3 {
            return Ok(trimmed.to_owned());
        }
        return Err("the URL has no host".to_owned());
    }
    Err(format!(
        "{trimmed:?} is not an absolute URL: add the scheme, e.g. https://{trimmed}"
    ))
}

/// The matchmaker to talk to (copied from [`Connection`]).
#[derive(Debug, Clone, Default)]
pub struct MatchmakerArgs {
    /// Base URL of the matchmaker API.
    pub matchmaker_url: Option<String>,
    /// The matchmaker's token.
    pub matchmaker_token: Option<String>,
}

/// The Edgegap Integration API (copied from [`Connection`]).
#[derive(Debug, Clone)]
pub struct ApiArgs {
    /// Base URL of the Edgegap Integration API.
    pub api_url: String,
    /// The organisation's API token.
    pub api_token: Option<String>,
}

impl Default for ApiArgs {
    fn default() -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            api_token: None,
        }
    }
}

/// The server browser (copied from [`Connection`]).
#[derive(Debug, Clone, Default)]
pub struct ServerBrowserArgs {
    /// Base URL of the server browser.
    pub url: Option<String>,
    /// Its token.
    pub token: Option<String>,
}

impl Connection {
    /// The server browser part.
    pub fn server_browser(&self) -> ServerBrowserArgs {
        ServerBrowserArgs {
            url: self.server_browser_url.clone(),
            token: self.server_browser_token.clone(),
        }
    }

    /// The matchmaker part.
    pub fn matchmaker(&self) -> MatchmakerArgs {
        MatchmakerArgs {
            matchmaker_url: self.matchmaker_url.clone(),
            matchmaker_token: self.matchmaker_token.clone(),
        }
    }

    /// The Integration API part.
    pub fn api(&self) -> ApiArgs {
        ApiArgs {
            api_url: self.api_url.clone(),
            api_token: self.api_token.clone(),
        }
    }
}

/// Where the beacons come from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A beacon-list JSON file, either shape; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub beacons_file: Option<PathBuf>,
    /// One beacon: CITY=HOST:PORT[/udp|/tcp], CITY=HOST/icmp; IPv6 as [::1]:9000. Repeatable.
    #[arg(long, value_name = "CITY=HOST:PORT[/PROTO]")]
    pub beacon: Vec<BeaconFlag>,
    /// The matchmaker to get the beacon list from (from the global connection flags).
    #[arg(skip)]
    pub matchmaker: MatchmakerArgs,
    /// The Edgegap API to get the beacon list from (from the global connection flags).
    #[arg(skip)]
    pub api: ApiArgs,
}

/// Address family on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum IpArg {
    /// Either (IPv4 preferred for names with both).
    #[default]
    Any,
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

/// How to probe and rank.
#[derive(Debug, Clone, Args)]
pub struct ProbeOpts {
    /// Transport: auto (UDP when the beacon has a UDP port, else TCP, else ICMP; a beacon
    /// whose UDP gets no answer is tried over TCP), udp, tcp, or icmp (needs permission, see
    /// --help).
    #[arg(long, value_name = "PROTOCOL", default_value_t = ProtocolChoice::Auto)]
    pub protocol: ProtocolChoice,
    /// Samples wanted per beacon [default: 5].
    #[arg(short = 'c', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub count: Option<u32>,
    /// Milliseconds between two probes to one beacon [default: 20].
    #[arg(short = 'i', long, value_name = "MS")]
    pub interval_ms: Option<u64>,
    /// Per-probe timeout in milliseconds [default: 1000].
    #[arg(short = 't', long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: Option<u64>,
    /// Limit for the whole run in milliseconds [default: 10000].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub deadline_ms: Option<u64>,
    /// Least time between any two probes of the run, in microseconds [default: 1000]; lower
    /// it to probe thousands of beacons quickly, on a link that can take the rate.
    #[arg(long, value_name = "US", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub gap_us: Option<u64>,
    /// Leave out locations above this latency (like the matchmaker's max_latency).
    #[arg(long, value_name = "MS")]
    pub max_latency_ms: Option<f64>,
    /// The figure locations are ranked by: median, mean, trimmed-mean or min [default: median].
    #[arg(long, value_name = "NAME")]
    pub statistic: Option<edgegap_probe::Statistic>,
    /// Name of the ticket attribute (the matchmaker's `latencies` rule).
    #[arg(long, value_name = "NAME", default_value = "beacons")]
    pub attribute: String,
    /// Saved report: keeps the previous best when still close, re-probes only the top few.
    #[arg(long, value_name = "FILE")]
    pub cache: Option<PathBuf>,
    /// Address family.
    #[arg(long, value_enum, default_value_t = IpArg::Any)]
    pub ip: IpArg,
    /// Accept any datagram from a beacon's address and port as its reply (non-echo beacons).
    #[arg(long)]
    pub lenient: bool,
    /// Measure every location fully instead of stopping those that can no longer win.
    #[arg(long)]
    pub no_early_decision: bool,
    /// Most probes per location while close contenders are told apart [default: 30].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_probes: Option<u32>,
    /// How sure a comparison must be, 0.5 to 0.999 [default: 0.95]: close contenders are
    /// probed until told apart at this level, and loss or jitter differences count only when
    /// significant at it.
    #[arg(long, value_name = "LEVEL")]
    pub confidence: Option<f64>,
    /// Send exactly --count samples per beacon: no extra probes for close contenders.
    #[arg(long)]
    pub fixed_count: bool,
}

/// Which locations may be ranked at all.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Rank only locations that can take a deployment of APP version VERSION now (the
    /// Edgegap API's capacity filter; needs the API token). Beacons are matched by city and
    /// country; those of other locations are left out, and the output says so.
    #[arg(long, value_name = "APP/VERSION")]
    pub deployable_for: Option<Deployable>,
}

/// `probe`.
#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// Where the beacons come from.
    #[command(flatten)]
    pub source: SourceArgs,
    /// How to probe and rank.
    #[command(flatten)]
    pub opts: ProbeOpts,
    /// Which locations may be ranked.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `beacons` and `locations`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// The matchmaker to ask (takes precedence over the API; from the global flags).
    #[arg(skip)]
    pub matchmaker: MatchmakerArgs,
    /// The Edgegap API to ask (from the global flags).
    #[arg(skip)]
    pub api: ApiArgs,
    /// `--json`.
    #[command(flatten)]
    pub output: JsonFlag,
}

/// `locations`.
#[derive(Debug, Clone, Args)]
pub struct LocationsArgs {
    /// Where to ask, and `--json`.
    #[command(flatten)]
    pub list: ListArgs,
    /// Only locations with the capacity to deploy this app now (with --version; API token).
    #[arg(long, value_name = "APP", requires = "version")]
    pub app: Option<String>,
    /// The app version for --app.
    #[arg(long, value_name = "VERSION", requires = "app")]
    pub version: Option<String>,
}

/// Whose beacon list `ticket` and `group create|join` probe when no file or flag names one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum BeaconsFrom {
    /// The matchmaker's own list (GET locations/beacons with the matchmaker token).
    #[default]
    Matchmaker,
    /// The Edgegap API's list (GET /v1/locations/beacons with the API token).
    Api,
}

/// What a player sends the matchmaker: probed latencies for a profile (`ticket`, `group
/// create`, `group join`).
#[derive(Debug, Clone, Args)]
pub struct PlayerArgs {
    /// Where the beacons come from (default: the matchmaker's own list).
    #[command(flatten)]
    pub source: SourceArgs,
    /// Whose beacon list to probe when neither --beacons-file nor --beacon is given.
    #[arg(
        long,
        value_enum,
        value_name = "SOURCE",
        default_value_t = BeaconsFrom::Matchmaker,
        conflicts_with_all = ["beacons_file", "beacon"]
    )]
    pub beacons_from: BeaconsFrom,
    /// How to probe and rank.
    #[command(flatten)]
    pub opts: ProbeOpts,
    /// Which locations may be sent.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// The matchmaking profile.
    #[arg(long)]
    pub profile: String,
    /// The player's public IP, when the matchmaker cannot see it (a backend creating tickets).
    #[arg(long, value_name = "IP")]
    pub player_ip: Option<std::net::IpAddr>,
    /// Whether --api-url or --api-token was typed on the command line (set after parsing).
    #[arg(skip)]
    pub api_flags_typed: bool,
}

/// `ticket`.
#[derive(Debug, Clone, Args)]
pub struct TicketArgs {
    /// The probe and the ticket's profile.
    #[command(flatten)]
    pub player: PlayerArgs,
    /// Give up waiting for an assignment after this many seconds (the ticket is deleted).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub wait_timeout: u64,
    /// Milliseconds between two polls of the ticket (with +/-20 % jitter).
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..))]
    pub poll_interval_ms: u64,
    /// Print the ticket with its assignment as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Which beacon-list shape `beacon` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ShapeArg {
    /// Edgegap v1 API: {"locations": [...]}.
    #[default]
    V1,
    /// Matchmaker: {"beacons": [...]}.
    Matchmaker,
}

/// `beacon`.
#[derive(Debug, Clone, Args)]
pub struct BeaconArgs {
    /// A scenario file (.toml or .json), as in crates/sim/scenarios.
    #[arg(long, value_name = "FILE", conflicts_with = "listen")]
    pub scenario: Option<PathBuf>,
    /// A beacon: [CITY=]ADDRESS:PORT on loopback; UDP and TCP on that port. Repeatable.
    #[arg(long, value_name = "[CITY=]ADDR:PORT")]
    pub listen: Vec<String>,
    /// UDP reply delay in milliseconds (once, or once per --listen).
    #[arg(long, value_name = "MS")]
    pub delay_ms: Vec<f64>,
    /// Random extra delay in +/- milliseconds (once, or once per --listen).
    #[arg(long, value_name = "MS")]
    pub jitter_ms: Vec<f64>,
    /// Probability 0..1 of not answering a datagram (once, or once per --listen).
    #[arg(long, value_name = "P")]
    pub loss: Vec<f64>,
    /// Beacon-list shape to print.
    #[arg(long, value_enum, default_value_t = ShapeArg::V1)]
    pub shape: ShapeArg,
}

/// `storage`.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// The Edgegap API (from the global flags).
    #[arg(skip)]
    pub api: ApiArgs,
    /// What to administer.
    #[command(subcommand)]
    pub command: StorageCommand,
}

/// `storage endpoint|pull-profile`.
#[derive(Debug, Clone, Subcommand)]
pub enum StorageCommand {
    /// Endpoint storage (S3 buckets).
    #[command(subcommand)]
    Endpoint(EndpointCommand),
    /// Pull profiles of an endpoint storage.
    #[command(subcommand)]
    PullProfile(PullProfileCommand),
}

/// Fields of an endpoint storage body.
#[derive(Debug, Clone, Default, Args)]
pub struct EndpointFields {
    /// The whole JSON body; `-` reads stdin. Flags given as well override its fields.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Full URL of the S3 endpoint.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Bucket name.
    #[arg(long)]
    pub bucket: Option<String>,
    /// S3 access key id.
    #[arg(long, value_name = "ID")]
    pub access_key_id: Option<String>,
    /// S3 secret access key (or EDGEGAP_S3_SECRET_ACCESS_KEY).
    #[arg(
        long,
        value_name = "KEY",
        env = "EDGEGAP_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub secret_access_key: Option<String>,
    /// Format of exported logs.
    #[arg(long, value_name = "FORMAT")]
    pub output_format: Option<String>,
}

/// `storage endpoint ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum EndpointCommand {
    /// List every endpoint storage (GET /v1/storage/endpoints).
    List(EndpointListArgs),
    /// Show one (GET /v1/storage/endpoint/{name}).
    Get {
        /// Endpoint storage name.
        name: String,
        /// Print JSON.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Create one (POST /v1/storage/endpoint).
    Create {
        /// Endpoint storage name (or `name` in --file).
        #[arg(long)]
        name: Option<String>,
        /// Body fields.
        #[command(flatten)]
        fields: EndpointFields,
        /// Print JSON.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Change one (PATCH /v1/storage/endpoint/{name}); only the given fields change.
    Update {
        /// Endpoint storage name.
        name: String,
        /// New name.
        #[arg(long, value_name = "NAME")]
        rename: Option<String>,
        /// Body fields.
        #[command(flatten)]
        fields: EndpointFields,
        /// Print JSON.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete one (DELETE /v1/storage/endpoint/{name}).
    Delete {
        /// Endpoint storage name.
        name: String,
    },
}

/// `storage endpoint list`.
#[derive(Debug, Clone, Default, Args)]
pub struct EndpointListArgs {
    /// Only these fields of each endpoint storage, e.g. name,bucket (sent as the API's
    /// X-Fields mask; the table shows these columns).
    #[arg(long, value_name = "MASK")]
    pub fields: Option<String>,
    /// Print JSON (an array, whatever the count).
    #[command(flatten)]
    pub json: JsonFlag,
}

/// Fields of a pull profile body.
#[derive(Debug, Clone, Default, Args)]
pub struct PullProfileFields {
    /// The whole JSON body; `-` reads stdin. Flags given as well override its fields.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Path in the bucket to fetch.
    #[arg(long, value_name = "PATH")]
    pub source: Option<String>,
    /// Whether the source is a `File` or a `Folder`.
    #[arg(long, value_name = "TYPE")]
    pub source_type: Option<String>,
    /// Where the source goes in the container.
    #[arg(long, value_name = "PATH")]
    pub destination: Option<String>,
}

/// `storage pull-profile ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum PullProfileCommand {
    /// List the pull profiles of an endpoint storage.
    List {
        /// Endpoint storage name.
        endpoint: String,
        /// Print JSON.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Show one pull profile.
    Get {
        /// Endpoint storage name.
        endpoint: String,
        /// Pull profile name.
        profile: String,
        /// Print JSON.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Create a pull profile.
    Create {
        /// Endpoint storage name.
        endpoint: String,
        /// Pull profile name (or `name` in --file).
        #[arg(long)]
        name: Option<String>,
        /// Body fields.
        #[command(flatten)]
        fields: PullProfileFields,
        /// Print JSON.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Change a pull profile; only the given fields change.
    Update {
        /// Endpoint storage name.
        endpoint: String,
        /// Pull profile name.
        profile: String,
        /// New name.
        #[arg(long, value_name = "NAME")]
        rename: Option<String>,
        /// Body fields.
        #[command(flatten)]
        fields: PullProfileFields,
        /// Print JSON.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete a pull profile.
    Delete {
        /// Endpoint storage name.
        endpoint: String,
        /// Pull profile name.
        profile: String,
    },
    /// Link a pull profile to an application version.
    Link(LinkArgs),
    /// Unlink a pull profile from an application version.
    Unlink(LinkArgs),
}

/// `group ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum GroupCommand {
    /// Probe, then create a group with this player as its first member (POST groups).
    Create {
        /// The probe and the profile.
        #[command(flatten)]
        player: Box<PlayerArgs>,
        /// Print the group as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Probe, then join a group with this player's own latencies (POST groups/ID/members).
    Join {
        /// The group's id (from `group create`).
        group: String,
        /// The probe and the profile.
        #[command(flatten)]
        player: Box<PlayerArgs>,
        /// Print the membership as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Say a member is ready (PATCH groups/ID/members/MEMBER {"is_ready": true}).
    Ready {
        /// The group's id.
        group: String,
        /// The member's id (printed by `create` / `join`).
        member: String,
        /// Say not ready instead.
        #[arg(long)]
        not_ready: bool,
        /// Print the membership as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Leave a group (DELETE groups/ID/members/MEMBER).
    Leave {
        /// The group's id.
        group: String,
        /// The member's id.
        member: String,
    },
    /// Show a group and its members (GET groups/ID), or one member with MEMBER.
    Status {
        /// The group's id.
        group: String,
        /// One member's id.
        member: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a whole group (DELETE groups/ID).
    Delete {
        /// The group's id.
        group: String,
    },
}

/// `servers ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum ServersCommand {
    /// List the server instances (every page), optionally sorted by measured latency.
    List(Box<ServersListArgs>),
    /// Show one server instance.
    Get {
        /// The instance's request id.
        instance: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reserve seats: by policy (--policy), or in one slot of one instance (ID --slot).
    Reserve(ReserveArgs),
    /// Confirm that reserved users arrived on an instance.
    Confirm {
        /// The instance's request id.
        instance: String,
        /// A user id. Repeatable.
        #[arg(long = "user", value_name = "USER_ID", required = true)]
        users: Vec<String>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `servers list`.
#[derive(Debug, Clone, Args)]
pub struct ServersListArgs {
    /// Filter expression, passed to the server browser as given.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Sort order, passed to the server browser as given (ignored with --probe).
    #[arg(long, value_name = "ORDER")]
    pub order: Option<String>,
    /// Page size asked of the server browser.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Measure each instance's location through its beacon and sort by that latency.
    #[arg(long)]
    pub probe: bool,
    /// Where the beacons come from (with --probe).
    #[command(flatten)]
    pub source: SourceArgs,
    /// How to probe and rank (with --probe).
    #[command(flatten)]
    pub opts: ProbeOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Show every column, however wide.
    #[arg(long, conflicts_with = "json")]
    pub wide: bool,
}

/// `servers reserve`.
#[derive(Debug, Clone, Args)]
pub struct ReserveArgs {
    /// The instance (with --slot).
    #[arg(requires = "slot", conflicts_with = "policy")]
    pub instance: Option<String>,
    /// The slot of the instance to seat the users in.
    #[arg(long, requires = "instance")]
    pub slot: Option<String>,
    /// The reservation policy that picks the instance.
    #[arg(long, value_name = "NAME", required_unless_present = "instance")]
    pub policy: Option<String>,
    /// A user id to seat. Repeatable.
    #[arg(long = "user", value_name = "USER_ID", required = true)]
    pub users: Vec<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--json` alone.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A pull profile and an application version.
#[derive(Debug, Clone, Args)]
pub struct LinkArgs {
    /// Endpoint storage name.
    pub endpoint: String,
    /// Pull profile name.
    pub profile: String,
    /// Application name.
    #[arg(long)]
    pub app: String,
    /// Application version name.
    #[arg(long)]
    pub version: String,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::exit;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_root_help_lists_every_exit_code() {
        let codes = [
            exit::OK,
            exit::FAILURE,
            exit::USAGE,
            exit::NO_LOCATION_REACHABLE,
            exit::API,
            exit::BAD_INPUT,
            exit::INTERRUPTED,
        ];
        for code in codes {
            let listed = ROOT_HELP
                .lines()
                .any(|line| line.trim_start().starts_with(&format!("{code} ")));
            assert!(listed, "exit code {code} is missing from --help");
        }
    }
}
