//! Loads and validates the gateway's configuration directory
