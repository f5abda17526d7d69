//! Which nodeset actions syncstatelite acts on (statelite.md §5): a comma piece of `ACTION`
//! that is `osimage` or `osimage=<image>`; anything else is not ours.

/// What `ACTION` asks of syncstatelite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Bring the server up to date; the image from `osimage=<image>`, else each node's own.
    Sync { image: Option<String> },
    /// Not an osimage action: nothing to do.
    Other(String),
}

/// Reads nodeset's first argument as xCAT passes it in `ACTION` (`osimage`,
/// `osimage=<img>`, `runimage=a,osimage=b`, `boot`, ...).
pub fn parse(action: &str) -> Action {
    for piece in action.split(',') {
        if piece == "osimage" {
            return Action::Sync { image: None };
        }
        if let Some(image) = piece.strip_prefix("osimage=") {
            let image = image.trim();
            return Action::Sync {
                image: (!image.is_empty()).then(|| image.to_string()),
            };
        }
    }
    Action::Other(action.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acts_on_an_osimage_piece_only() {
        assert_eq!(parse("osimage"), Action::Sync { image: None });
        assert_eq!(
            parse("osimage=rhels8-x86_64-statelite-compute"),
            Action::Sync {
                image: Some("rhels8-x86_64-statelite-compute".into())
            }
        );
        assert_eq!(
            parse("runimage=http://x/a.tgz,osimage=img"),
            Action::Sync {
                image: Some("img".into())
            }
        );
        for other in [
            "boot",
            "shell",
            "offline",
            "runcmd=bmcsetup",
            "osimages",
            "stat",
        ] {
            assert_eq!(parse(other), Action::Other(other.into()));
        }
    }
}
