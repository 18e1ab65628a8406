//! `workflow::check` against hostile documents: limits (nesting, NUL,
//! lengths) and a property test over generated documents and the corpus in
//! `tests/corpus/`.

mod docs;
mod fuzz;
mod limits;
mod schema;
mod support;
