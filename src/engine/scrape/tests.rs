//! Tests of the scraper against tiny HTTP servers on 127.0.0.1.
