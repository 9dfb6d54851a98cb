//! What a library run tells its caller while it works ([`Notice`]): the CLI prints each as it
//! comes (so a later error still follows what was said before it), a Python caller can log or
//! collect them.

/// A message from a run, sent when it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// What the run is doing or did (the CLI prints it on stdout, or on stderr when stdout
    /// carries JSON).
    Note(String),
    /// Something that may be wrong but does not stop the run (the CLI prints
    /// `cleansplit: warning: ...` on stderr).
    Warning(String),
}

/// Where a run sends its notices.
pub type Notify<'a> = &'a mut dyn FnMut(Notice);
