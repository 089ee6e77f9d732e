//! Specification tests for the frame: listing GeoJSON, self-check, serpentine numbering, and the
//! real Kunming data.

mod fixture;
mod fuzz;
mod geojson;
mod kunming;
mod selfcheck;
mod serpentine;
