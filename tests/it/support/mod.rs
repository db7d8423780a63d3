pub mod app;
pub mod browser;
pub mod console;
pub mod db;
pub mod fake_gateway;
pub mod kannel;
pub mod process;
pub mod smtp;
