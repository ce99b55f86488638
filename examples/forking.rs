//! "What if" branches: fork a simulation in O(1) and let the branches diverge.
//! Run: `cargo run --example forking`.

use switchboard::{Duration, Simulator};

fn main() -> Result<(), switchboard::Error> {
    let mut sim = Simulator::builder().seed(2).build();
    let a = sim.create_user("a")?;
    let b = sim.create_user("b")?;
    let thread = sim.client(a).create_thread("plans", &[b])?;
    sim.client(a).send_message(thread, "ship friday?")?;

    let mut yes = sim.fork();
    let mut no = sim.fork();
    yes.advance(Duration::from_mins(1));
    yes.client(b).send_message(thread, "yes")?;
    no.advance(Duration::from_mins(1));
    no.client(b).delete_thread(thread)?;

    println!(
        "original: {} trace lines, digest {}",
        sim.trace().len(),
        sim.digest()
    );
    println!(
        "yes:      {} trace lines, digest {}",
        yes.trace().len(),
        yes.digest()
    );
    println!(
        "no:       {} trace lines, digest {}",
        no.trace().len(),
        no.digest()
    );
    println!(
        "no-branch get_thread: {:?}",
        no.client(a).get_thread(thread).map(|_| ())
    );
    Ok(())
}
