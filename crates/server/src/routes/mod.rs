pub mod artifacts;
pub mod identities;
pub mod keys;
pub mod runs;
pub mod system;
pub mod workflows;
