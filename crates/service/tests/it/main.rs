//! The service component: building, bootstrapping, serving, reaping and stopping.

mod lifecycle;
