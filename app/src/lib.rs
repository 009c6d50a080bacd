//! Herald's Leptos application, compiled natively with `ssr` (inside the server) and to wasm
//! with `hydrate` (in the browser).

// Leptos views are deeply nested types; the targeting workspace needs more than the default.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
#[cfg(feature = "ssr")]
pub mod bundle;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod entity;
#[cfg(feature = "ssr")]
pub mod service;

/// Entry point of the browser bundle: attaches the app to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy routes load their chunk before hydrating the page they render.
    leptos::mount::hydrate_lazy(app::App);
}
