//! Pages a person sees that are not part of a connect link itself: the sandbox platform.

pub mod sandbox;
