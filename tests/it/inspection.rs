//! Inspection: a read-only view for assertions that changes neither the state
//! nor the digest and counts against no limit.

use switchboard::profile::Operation;
use switchboard::{Duration, MessageKind, Simulator};

#[test]
fn inspection_changes_neither_state_nor_digest_and_counts_against_no_limit() {
    let mut sim = Simulator::builder().seed(3).build();
    let ana = sim.create_user("ana").unwrap();
    let bo = sim.create_user("bo").unwrap();
    let t = sim.client(ana).create_thread("x", &[bo]).unwrap();
    for i in 0..50 {
        sim.client(ana).send_message(t, &format!("m{i}")).unwrap();
    }
    let (state, digest) = (sim.state().clone(), sim.digest());
    // Far more reads than any read limit allows (ACS: listing messages is
    // limited per user and thread), all through the inspection view.
    for _ in 0..100 {
        let view = sim.inspect();
        assert_eq!(view.threads().len(), 1);
        let messages = view.messages(t).unwrap();
        assert_eq!(messages.len(), 52, "two system messages and 50 sends");
        assert_eq!(messages[0].kind, MessageKind::ParticipantAdded);
        assert_eq!(view.participants(t).unwrap().len(), 2);
        assert_eq!(view.thread(t).unwrap().participant_count, 2);
        assert_eq!(view.user("bo"), Some(bo));
        assert_eq!(view.inbox(bo).len(), 51);
    }
    assert!(sim.state() == &state, "inspection changed the state");
    assert_eq!(sim.digest(), digest, "inspection changed the trace");
    // The 51st send in the minute would wait; the view says how long,
    // without counting anything.
    let wait = sim
        .inspect()
        .wait_for_limits(ana, Operation::SendMessage, Some(t));
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_mins(1),
        "{wait:?}"
    );
    assert_eq!(
        sim.inspect()
            .wait_for_limits(bo, Operation::SendMessage, Some(t)),
        Duration::ZERO
    );
    assert!(sim.state() == &state);
    sim.advance(wait);
    assert!(sim.client(ana).send_message(t, "now").is_ok());
}
