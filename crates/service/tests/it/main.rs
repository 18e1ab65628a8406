//! The service component: building, bootstrapping, serving, reaping and
//! stopping; and the rule that only the edges read the environment.

mod edge;
mod lifecycle;
