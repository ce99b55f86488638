//! A support conversation against the simulated ACS chat service, printed as
//! the compact trace. Run: `cargo run --example quickstart`.

use switchboard::{Duration, PageRequest, Simulator};

fn main() -> Result<(), switchboard::Error> {
    let mut sim = Simulator::builder().seed(1).build();
    let agent = sim.create_user("agent")?;
    let customer = sim.create_user("customer")?;

    let thread = sim
        .client(customer)
        .create_thread("My parcel is late", &[agent])?;
    sim.client(customer)
        .send_message(thread, "Order 1042 has not arrived.")?;
    sim.advance(Duration::from_mins(3));
    let reply = sim
        .client(agent)
        .send_message(thread, "It left the depot this morning.")?;
    sim.advance(Duration::from_secs(20));
    sim.client(customer).send_read_receipt(reply)?;

    let page = sim
        .client(customer)
        .list_messages(thread, PageRequest::default())?;
    for message in page.items.iter().rev() {
        println!(
            "#{:<2} {:<20} {}",
            message.sequence_id,
            message.kind,
            message.content.as_deref().unwrap_or("")
        );
    }
    println!("\ntrace:\n{}", sim.trace().render());
    println!("inbox of agent: {} notifications", sim.inbox(agent).len());
    println!("digest {}", sim.digest());
    Ok(())
}
