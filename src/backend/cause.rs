//! An error's cause in one line, in the platform's (or the OS's) words.
//! Client libraries wrap a cause in layers that each repeat or generalise
//! it ("ServiceError: client error (Connect): client error (Connect): tcp
//! connect error: Connection refused"); the operator needs the last two:
//! what was tried and why it failed ("tcp connect error: Connection
//! refused (os error 111)").

/// The root of `e`'s source chain with the one step above it, each said
/// once.
pub fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut chain: Vec<String> = Vec::new();
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        let said = s.to_string();
        if chain.last() != Some(&said) {
            chain.push(said);
        }
        src = s.source();
    }
    let Some(root) = chain.pop() else {
        return String::new();
    };
    match chain.pop() {
        // A parent that already says the root (or says nothing more) adds nothing.
        Some(parent) if parent.contains(&root) => parent,
        Some(parent) if root.contains(&parent) || parent.trim().is_empty() => root,
        Some(parent) => format!(
            "{}: {root}",
            parent.trim_end_matches(|c: char| c == ':' || c.is_whitespace())
        ),
        None => root,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    /// Seen: kube's chain said "client error (Connect)" twice before the cause.
    #[test]
    fn the_cause_is_said_once() {
        let e = E(
            "ServiceError: client error (Connect)",
            Some(Box::new(E(
                "client error (Connect)",
                Some(Box::new(E(
                    "tcp connect error",
                    Some(Box::new(E("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        assert_eq!(
            cause(&e),
            "tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(cause(&E("no answer", None)), "no answer");
        let e = E(
            "invalid peer certificate: UnknownIssuer",
            Some(Box::new(E("UnknownIssuer", None))),
        );
        assert_eq!(cause(&e), "invalid peer certificate: UnknownIssuer");
    }
}
