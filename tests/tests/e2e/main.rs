//! End-to-end tests: the real `mapframe` binary on real and generated data.

mod dashboard;
mod demo;
mod fieldwork_http;
mod form_cli;
mod forms_api;
mod frame_api;
mod frame_cli;
mod kish_cli;
mod postgres;
mod rates_cli;
mod sample_cli;
mod server_api;
mod server_cli;
mod store;
mod sync_http;
mod sync_store;
