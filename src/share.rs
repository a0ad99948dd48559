//! A recorded race made to be shown elsewhere (`llmrace share`): one self-contained HTML page
//! that plays the race back in a browser ([`page`]), or an asciinema recording of the
//! dashboard drawn frame by frame ([`cast`]). Both read the race from its replay, folded
//! through the same aggregator a live race feeds and sampled at a fixed step ([`frames`]):
//! every number they show is the aggregator's.

pub mod cast;
pub mod frames;
pub mod output;
pub mod page;

pub use frames::{Recording, record};
