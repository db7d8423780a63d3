pub mod app;
pub mod db;
pub mod fake_gateway;
