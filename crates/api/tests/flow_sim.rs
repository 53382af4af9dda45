//! The reqwest driver of the sans-I/O flow against the simulated matchmaker (a real HTTP peer
//! on 127.0.0.1): a ticket through injected faults, a cancel, a party of two.
#![cfg(feature = "http")]

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{MM_TOKEN, fast_config};
use edgegap_api::matchmaker::{GroupId, TicketRequest};
use edgegap_api::{ApiError, CancellationToken, MatchmakerClient, MatchmakerToken, WaitOptions};
use edgegap_beacon_sim::{Fault, MatchmakerConfig, MatchmakerSim};

async fn sim(config: MatchmakerConfig) -> (MatchmakerSim, MatchmakerClient) {
    let sim = MatchmakerSim::start(MatchmakerConfig {
        token: MM_TOKEN.to_owned(),
        ..config
    })
    .await
    .unwrap();
    let client = MatchmakerClient::builder(sim.base_url(), MatchmakerToken::new(MM_TOKEN))
        .http_config(fast_config())
        .build()
        .unwrap();
    (sim, client)
}

fn fast() -> WaitOptions {
    WaitOptions {
        poll_interval: Duration::from_millis(10),
        jitter: Duration::from_millis(2),
        ..WaitOptions::default()
    }
}

fn request() -> TicketRequest {
    TicketRequest::new("casual", [("Chicago", 12.0)])
}

#[tokio::test]
async fn a_ticket_rides_out_429_and_503_to_its_assignment() {
    let fault = |status, retry_after| Fault {
        method: Some("GET".into()),
        path_prefix: Some("tickets/".into()),
        status,
        retry_after,
        times: 1,
    };
    let (sim, client) = sim(MatchmakerConfig {
        faults: vec![fault(429, Some(1)), fault(503, None)],
        ..MatchmakerConfig::default()
    })
    .await;
    let mut flow = client.ticket_flow(&request(), &fast());
    let assignment = client
        .run_flow(&mut flow, &CancellationToken::new(), |_| {})
        .await
        .unwrap();
    assert_eq!(assignment.fqdn, "sim-server.local");
    assert_eq!(assignment.ports["gameport"].external, 31000);
    let statuses: Vec<u16> = sim.served().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [201, 429, 503, 200, 200, 200]);
    sim.shutdown().await;
}

#[tokio::test]
async fn cancelling_a_searching_ticket_deletes_it() {
    let (sim, client) = sim(MatchmakerConfig {
        searching_polls: 1_000,
        ..MatchmakerConfig::default()
    })
    .await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let mut flow = client.ticket_flow(&request(), &fast());
    let err = client
        .run_flow(&mut flow, &cancel, |flow| {
            if flow.status().is_some() && flow.ticket_id().is_some() {
                trigger.cancel();
            }
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Cancelled {
                ticket_deleted: true,
                ..
            }
        ),
        "{err}"
    );
    let last = sim.served().pop().unwrap();
    assert_eq!((last.method.as_str(), last.status), ("DELETE", 204));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_party_of_two_gets_one_server_once_both_are_ready() {
    let (sim, client) = sim(MatchmakerConfig::default()).await;
    let (group_tx, group_rx) = mpsc::channel::<GroupId>();
    let owner_client = client.clone();
    let owner = tokio::spawn(async move {
        let mut flow = owner_client.create_group_flow(&request(), &fast());
        flow.set_ready(true).unwrap();
        let mut sent = false;
        owner_client
            .run_flow(&mut flow, &CancellationToken::new(), |flow| {
                if let (false, Some(group)) = (sent, flow.group_id()) {
                    sent = group_tx.send(group.clone()).is_ok();
                }
            })
            .await
    });
    let group = tokio::task::spawn_blocking(move || group_rx.recv_timeout(Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("the owner created the group");
    let mut friend = client.join_group_flow(
        group,
        &TicketRequest::new("casual", [("Tokyo", 40.0)]),
        &fast(),
    );
    friend.set_ready(true).unwrap();
    let friend = client
        .run_flow(&mut friend, &CancellationToken::new(), |_| {})
        .await
        .unwrap();
    let owner = owner.await.unwrap().unwrap();
    assert_eq!(owner, friend, "one server for the party");
    let patches = sim.served().iter().filter(|s| s.method == "PATCH").count();
    assert_eq!(patches, 2, "each member said it is ready once");
    sim.shutdown().await;
}
