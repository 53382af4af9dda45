//! Scenario files, their errors, the built-in scenarios and the beacon lists.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use edgegap_beacon_sim::network::{Congestion, Network};
use edgegap_beacon_sim::{BeaconSpec, ListShape, Scenario, SimError, TcpMode};

fn scenarios_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
}

#[test]
fn shipped_files_equal_the_constructors() {
    let demo = Scenario::load(&scenarios_dir().join("demo.toml")).unwrap();
    assert_eq!(demo, Scenario::demo());
    let twelve = Scenario::load(&scenarios_dir().join("twelve.toml")).unwrap();
    assert_eq!(twelve, Scenario::twelve_locations(twelve.seed));
    assert_eq!(twelve.seed, 42);
}

#[test]
fn the_harsh_file_equals_the_preset() {
    let harsh = Scenario::load(&scenarios_dir().join("harsh.toml")).unwrap();
    assert_eq!(harsh.seed, 42);
    assert_eq!(harsh, Scenario::harsh(42));
    assert_eq!(
        Scenario::from_toml(&harsh.to_toml().unwrap()).unwrap(),
        harsh
    );
    assert_eq!(
        Scenario::from_json(&serde_json::to_string(&harsh).unwrap()).unwrap(),
        harsh
    );
}

#[test]
fn the_harsh_preset_two_best_8_ms_apart_under_heavy_noise() {
    let s = Scenario::harsh(9);
    assert_eq!((s.seed, s.beacons.len()), (9, 12));
    s.validate().unwrap();
    let delays: Vec<f64> = s.beacons.iter().map(|b| b.delay_ms).collect();
    assert_eq!((s.beacons[0].city.as_str(), delays[0]), ("Frankfurt", 28.0));
    assert_eq!((s.beacons[1].city.as_str(), delays[1]), ("Amsterdam", 36.0));
    assert!(delays.windows(2).all(|w| w[0] < w[1]));
    assert!((200.0..=260.0).contains(&delays[11]), "{delays:?}");
    let mut addresses: Vec<IpAddr> = s.beacons.iter().map(|b| b.address).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 12);
    for b in &s.beacons {
        assert!((b.jitter_ms - 6.0).abs() < 1e-12, "{b:?}");
        let spikes = b.spikes.unwrap();
        assert_eq!((spikes.probability, spikes.max_ms), (0.1, 120.0));
        let burst = b.bursty_loss.unwrap();
        assert!((burst.stationary_loss() - 0.05).abs() < 1e-9, "{burst:?}");
        assert!(burst.mean_bad_packets() > 2.0, "bursts, not single drops");
        assert!(b.loss.abs() < f64::EPSILON, "all of the loss is bursty");
        assert!(
            !b.serves_tcp(),
            "a handshake would not show the harsh network"
        );
    }
    let congestion = s.network().congestion.unwrap();
    assert!(
        (1000.0 / congestion.per_s - 300.0).abs() < 10.0,
        "{congestion:?}"
    );
    assert_eq!(
        (
            congestion.length_ms,
            congestion.extra_min_ms,
            congestion.extra_max_ms
        ),
        (40.0, 40.0, 80.0)
    );
}

const CONGESTION: Congestion = Congestion {
    per_s: 2.0,
    length_ms: 30.0,
    extra_min_ms: 10.0,
    extra_max_ms: 20.0,
};

#[test]
fn the_network_table_is_shared_by_every_beacon_and_written_back_once() {
    let text = "seed = 4\n\
                [network.congestion]\n\
                per_s = 2.0\nlength_ms = 30.0\nextra_min_ms = 10.0\nextra_max_ms = 20.0\n\
                [[beacons]]\ncity = \"A\"\ndelay_ms = 5.0\n\
                [[beacons]]\ncity = \"B\"\ndelay_ms = 9.0\n";
    let s = Scenario::from_toml(text).unwrap();
    assert!(s.beacons.iter().all(|b| b.congestion == Some(CONGESTION)));
    assert_eq!(s.network().congestion, Some(CONGESTION));
    let written = s.to_toml().unwrap();
    assert_eq!(
        written.matches("[network.congestion]").count(),
        1,
        "{written}"
    );
    assert!(!written.contains("congestion = "), "{written}");
    assert_eq!(Scenario::from_toml(&written).unwrap(), s);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["network"]["congestion"]["per_s"], 2.0);
    assert_eq!(Scenario::from_json(&json.to_string()).unwrap(), s);
    // Inline in JSON too, and left out when unset.
    let plain = Scenario::from_json(r#"{"network": {}, "beacons": [{"city": "C"}]}"#).unwrap();
    assert_eq!(plain.network(), Network::default());
    assert!(!plain.to_toml().unwrap().contains("network"));
}

#[test]
fn beacons_must_agree_on_the_network() {
    let mut s =
        Scenario::from_toml("[[beacons]]\ncity = \"A\"\n[[beacons]]\ncity = \"B\"\n").unwrap();
    s.set_network(Network {
        congestion: Some(CONGESTION),
    });
    s.validate().unwrap();
    s.beacons.push(BeaconSpec::new(
        "Late",
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        3.0,
    ));
    let err = s.validate().unwrap_err();
    assert!(
        matches!(
            &err,
            SimError::InvalidField {
                index: 2,
                field: "congestion",
                ..
            }
        ) && err.to_string().contains("set_network"),
        "{err}"
    );
    assert!(
        s.to_toml().is_err(),
        "one [network] table cannot say two things"
    );
    s.set_network(s.network());
    s.validate().unwrap();
}

#[test]
fn network_errors_name_the_field() {
    let with = |body: &str| {
        Scenario::from_toml(&format!(
            "[network.congestion]\n{body}\n[[beacons]]\ncity = \"A\"\n"
        ))
    };
    let err =
        with("per_s = -1.0\nlength_ms = 40.0\nextra_min_ms = 1.0\nextra_max_ms = 2.0").unwrap_err();
    assert!(
        matches!(
            err,
            SimError::InvalidNetwork {
                field: "network.congestion.per_s",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("[network]"), "{err}");
    let err =
        with("per_s = 1.0\nlength_ms = 40.0\nextra_min_ms = 9.0\nextra_max_ms = 2.0").unwrap_err();
    assert!(err.to_string().contains("extra_max_ms"), "{err}");
    let err = with("per_s = 1.0\nlength_ms = 40.0\nextra_min_ms = 1.0").unwrap_err();
    assert!(
        err.to_string().contains("extra_max_ms"),
        "missing field: {err}"
    );
    let err =
        with("per_s = 1.0\nlength_ms = 40.0\nextra_min_ms = 1.0\nextra_max_ms = 2.0\nlen = 3")
            .unwrap_err();
    assert!(err.to_string().contains("len"), "unknown field: {err}");
    let err = Scenario::from_toml("[network]\ncongeston = 1\n").unwrap_err();
    assert!(err.to_string().contains("congeston"), "{err}");
    // The shared congestion is no beacon field.
    let err = Scenario::from_toml(
        "[[beacons]]\ncity = \"A\"\n[beacons.congestion]\nper_s = 1.0\nlength_ms = 1.0\n\
         extra_min_ms = 1.0\nextra_max_ms = 2.0\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("congestion"), "{err}");
}

#[test]
fn scenario_files_from_before_the_harsh_model_still_load() {
    // Every field a scenario could have before, none of the new ones.
    let old = r#"
seed = 7
[[beacons]]
city = "Montreal"
country = "Canada"
address = "127.0.0.11"
udp_port = 0
tcp_port = 0
udp = true
tcp = true
delay_ms = 12.0
jitter_ms = 1.0
loss = 0.01
silent = false
tcp_silent = false
down = false
duplicates = 0
wrong_source_port = false
alter_bytes = false
predict_and_spray = 0
spray_every_ms = 1.0
early_replies = 0
early_by_ms = 0.5
flood = 0
"#;
    let s = Scenario::from_toml(old).unwrap();
    let b = &s.beacons[0];
    assert_eq!((b.spikes, b.bursty_loss, b.congestion), (None, None, None));
    assert_eq!(s.network(), Network::default());
    assert_eq!(s.beacons[0], Scenario::demo().beacons[0]);
    // What is written back reads the same, and has no harsh field.
    let written = s.to_toml().unwrap();
    for field in ["network", "spikes", "bursty_loss", "congestion"] {
        assert!(!written.contains(field), "{field}: {written}");
    }
    for file in ["demo.toml", "twelve.toml", "hostile.toml"] {
        let s = Scenario::load(&scenarios_dir().join(file)).unwrap();
        assert!(
            s.beacons
                .iter()
                .all(|b| b.spikes.is_none() && b.bursty_loss.is_none() && b.congestion.is_none()),
            "{file}"
        );
    }
}

#[test]
fn the_hostile_example_has_each_mode_beside_honest_beacons() {
    let hostile = Scenario::load(&scenarios_dir().join("hostile.toml")).unwrap();
    let modes: Vec<Option<&str>> = hostile
        .beacons
        .iter()
        .map(BeaconSpec::hostile_mode)
        .collect();
    assert_eq!(
        modes,
        vec![
            None,
            Some("predict_and_spray"),
            Some("early_replies"),
            Some("flood"),
            None
        ]
    );
    assert!(
        hostile
            .beacons
            .iter()
            .all(|b| b.hostile_mode().is_none() || !b.serves_tcp())
    );
    assert_eq!(
        Scenario::from_toml(&hostile.to_toml().unwrap()).unwrap(),
        hostile
    );
}

#[test]
fn demo_has_ten_cities_one_down_each_on_its_own_address() {
    let demo = Scenario::demo();
    assert_eq!(demo.beacons.len(), 10);
    assert_eq!(demo.beacons.iter().filter(|b| b.down).count(), 1);
    let mut addresses: Vec<IpAddr> = demo.beacons.iter().map(|b| b.address).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 10);
    for b in &demo.beacons {
        assert!(
            (1.0..=3.0).contains(&b.jitter_ms) && (0.0..=0.03).contains(&b.loss),
            "{b:?}"
        );
    }
    let montreal = demo.beacons.iter().find(|b| b.city == "Montreal").unwrap();
    assert!((montreal.delay_ms - 12.0).abs() < f64::EPSILON);
}

#[test]
fn twelve_locations_spread_8_to_250_ms() {
    let s = Scenario::twelve_locations(5);
    assert_eq!((s.seed, s.beacons.len()), (5, 12));
    let delays: Vec<f64> = s.beacons.iter().map(|b| b.delay_ms).collect();
    assert!((delays[0] - 8.0).abs() < f64::EPSILON && (delays[11] - 250.0).abs() < f64::EPSILON);
    assert!(delays.windows(2).all(|w| w[0] < w[1]));
    assert!(
        s.beacons
            .iter()
            .all(|b| (b.loss - 0.02).abs() < 1e-12 && (b.jitter_ms - 2.0).abs() < 1e-12)
    );
    s.validate().unwrap();
}

#[test]
fn toml_and_json_round_trip_with_defaults() {
    let s =
        Scenario::from_toml("seed = 3\n[[beacons]]\ncity = \"Paris\"\ndelay_ms = 40\n").unwrap();
    let expected = BeaconSpec::new("Paris", IpAddr::V4(Ipv4Addr::LOCALHOST), 40.0);
    assert_eq!(
        s,
        Scenario {
            seed: 3,
            beacons: vec![expected]
        }
    );
    assert!(s.beacons[0].udp && s.beacons[0].tcp == TcpMode::Faithful && !s.beacons[0].down);
    let modes = Scenario::from_toml(
        "[[beacons]]\ncity = \"A\"\ntcp = \"always\"\n[[beacons]]\ncity = \"B\"\ntcp = false\n",
    )
    .unwrap();
    assert_eq!(modes.beacons[0].tcp, TcpMode::Always);
    assert_eq!(modes.beacons[1].tcp, TcpMode::Off);
    assert_eq!(
        Scenario::from_toml(&modes.to_toml().unwrap()).unwrap(),
        modes
    );

    let demo = Scenario::demo();
    assert_eq!(Scenario::from_toml(&demo.to_toml().unwrap()).unwrap(), demo);
    assert_eq!(
        Scenario::from_json(&serde_json::to_string(&demo).unwrap()).unwrap(),
        demo
    );
    let json = Scenario::from_json(
        r#"{"seed": 9, "beacons": [{"city": "Oslo", "address": "::1", "reply_with": "hi", "duplicates": 2}]}"#,
    )
    .unwrap();
    assert_eq!(json.beacons[0].reply_with.as_deref(), Some("hi"));
    assert_eq!(json.beacons[0].duplicates, 2);
}

#[test]
fn load_picks_the_format_by_extension_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("s.JSON");
    std::fs::write(&json, r#"{"beacons": [{"city": "Lima"}]}"#).unwrap();
    assert_eq!(Scenario::load(&json).unwrap().beacons[0].city, "Lima");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[beacons]]\ncity = \"Rome\"\nloss = 2.5\n").unwrap();
    let err = Scenario::load(&bad).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("bad.toml") && text.contains("loss") && text.contains("Rome"),
        "{text}"
    );

    let err = Scenario::load(&dir.path().join("scenario.yaml")).unwrap_err();
    assert!(matches!(err, SimError::UnknownFormat { .. }), "{err:?}");
    let err = Scenario::load(&dir.path().join("missing.toml")).unwrap_err();
    assert!(
        matches!(err, SimError::Read { .. }) && err.to_string().contains("missing.toml"),
        "{err}"
    );
}

#[test]
fn parse_errors_name_the_problem() {
    let unknown = Scenario::from_toml("[[beacons]]\ncity = \"A\"\ndely_ms = 4.0\n").unwrap_err();
    assert!(unknown.to_string().contains("dely_ms"), "{unknown}");
    let wrong_type =
        Scenario::from_toml("[[beacons]]\ncity = \"A\"\ndelay_ms = \"slow\"\n").unwrap_err();
    assert!(matches!(wrong_type, SimError::Toml(_)));
    assert!(wrong_type.to_string().contains("line 3"), "{wrong_type}");
    let no_city = Scenario::from_toml("[[beacons]]\ndelay_ms = 1.0\n").unwrap_err();
    assert!(no_city.to_string().contains("city"), "{no_city}");
    let bad_ip =
        Scenario::from_toml("[[beacons]]\ncity = \"A\"\naddress = \"localhost\"\n").unwrap_err();
    assert!(bad_ip.to_string().contains("address"), "{bad_ip}");
    let json = Scenario::from_json("{\"beacons\": [{\"city\": \"A\", \"loss\": }]}").unwrap_err();
    assert!(
        matches!(json, SimError::Json(_)) && json.to_string().contains("line 1"),
        "{json}"
    );
    let non_loopback =
        Scenario::from_toml("[[beacons]]\ncity = \"Far\"\naddress = \"10.1.2.3\"\n").unwrap_err();
    assert!(
        matches!(non_loopback, SimError::NotLoopback { .. }),
        "{non_loopback}"
    );
    for (field, toml) in [
        ("delay_ms", "delay_ms = -1.0"),
        ("jitter_ms", "jitter_ms = nan"),
        ("loss", "loss = -0.1"),
        ("city", "city = \" \""),
    ] {
        let text =
            format!("[[beacons]]\ncity = \"A\"\n{toml}\n").replace("city = \"A\"\ncity", "city");
        let err = Scenario::from_toml(&text).unwrap_err();
        assert!(
            matches!(&err, SimError::InvalidField { field: f, .. } if *f == field),
            "{toml}: {err:?}"
        );
    }
}

#[test]
fn list_shape_parses() {
    assert_eq!("v1".parse::<ListShape>().unwrap(), ListShape::V1);
    assert_eq!(
        "matchmaker".parse::<ListShape>().unwrap(),
        ListShape::Matchmaker
    );
    assert!("xml".parse::<ListShape>().unwrap_err().contains("xml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beacon_lists_in_both_shapes() {
    let mut scenario = Scenario::demo();
    // Montreal: TCP only, so with nothing a handshake would not show (no delay, jitter, loss).
    let montreal = &mut scenario.beacons[0];
    montreal.udp = false;
    (montreal.delay_ms, montreal.jitter_ms, montreal.loss) = (0.0, 0.0, 0.0);
    scenario.beacons[1].tcp = TcpMode::Off; // Chicago: UDP only
    let sim = scenario.start().await.unwrap();
    assert_eq!(sim.beacons().len(), 10);

    let v1 = sim.beacon_list_v1();
    assert_eq!(v1["count"], 10);
    let locations = v1["locations"].as_array().unwrap();
    assert_eq!(locations.len(), 10);
    assert_eq!(locations[0]["host"], "127.0.0.11");
    assert!(locations[0].get("udp_port").is_none() && locations[0]["tcp_port"].is_u64());
    assert!(locations[1].get("tcp_port").is_none() && locations[1]["udp_port"].is_u64());
    assert_eq!(locations[0]["location"]["city"], "Montreal");
    assert_eq!(locations[0]["location"]["country"], "Canada");
    for key in [
        "continent",
        "administrative_division",
        "timezone",
        "latitude",
        "longitude",
    ] {
        assert!(locations[0]["location"].get(key).is_some(), "{key}");
    }
    let singapore = locations
        .iter()
        .find(|l| l["location"]["city"] == "Singapore")
        .unwrap();
    let down = sim.beacons().iter().find(|b| b.spec.down).unwrap();
    assert_eq!(
        singapore["udp_port"],
        down.udp.unwrap().port(),
        "a down beacon's ports are listed"
    );
    assert_eq!(singapore["tcp_port"], down.tcp.unwrap().port());
    // The delayed beacons have no TCP port: a handshake would not show their delay.
    for l in &locations[2..] {
        assert_eq!(
            l.get("tcp_port").is_some(),
            l["location"]["city"] == "Singapore",
            "{l}"
        );
    }

    let mm = sim.beacon_list_matchmaker();
    assert_eq!(mm["count"], 10);
    let beacons = mm["beacons"].as_array().unwrap();
    assert_eq!(beacons[2]["public_ip"], "127.0.0.13");
    assert!(beacons[2]["fqdn"].is_null());
    assert!(beacons[0]["udp_port"].is_null() && beacons[1]["tcp_port"].is_null());
    assert_eq!(beacons[2]["udp_port"], sim.beacons()[2].udp.unwrap().port());
    assert_eq!(beacons[0]["tcp_port"], sim.beacons()[0].tcp.unwrap().port());
    for b in &beacons[2..] {
        assert_eq!(
            b["tcp_port"].is_null(),
            b["location"]["city"] != "Singapore",
            "{b}"
        );
    }
    assert_eq!(sim.beacon_list(ListShape::Matchmaker), mm);
    sim.shutdown().await;
}

#[test]
fn the_closest_beacon_is_the_fastest_that_answers() {
    let twelve = Scenario::twelve_locations(0);
    assert_eq!(twelve.beacons[twelve.closest().unwrap()].city, "Montreal");
    let harsh = Scenario::harsh_contest(3);
    assert_eq!(harsh.beacons[harsh.closest().unwrap()].city, "Frankfurt");
    let mut down = Scenario::twelve_locations(0);
    down.beacons[0].down = true;
    down.beacons[1].silent = true;
    assert_eq!(down.beacons[down.closest().unwrap()].city, "New York");
}
