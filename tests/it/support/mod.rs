pub mod app;
pub mod db;
pub mod fake_gateway;
pub mod kannel;
pub mod process;
