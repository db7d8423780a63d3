//! SMS transport: the gateways (`channels`, one module per kind behind one trait) and the
//! durable `outbox` that sends through them. What a worker's message means is decided above,
//! in `conversations`.

pub mod channels;
pub mod outbox;
