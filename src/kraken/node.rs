//! A YAML document as a tree where every node and every key keeps its line, so that each
//! complaint about a Kraken file names the line to fix. serde-saphyr's `Spanned` records where a
//! value came from; this tree is `Spanned` all the way down.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Located>),
    Map(Vec<(Located, Located)>),
}

/// A node and the line (1-based) it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub node: Node,
    pub line: u64,
}

impl Node {
    /// What the user wrote, in YAML's words, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "nothing",
            Node::Bool(_) => "a boolean",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Node>::deserialize(d)?;
        Ok(Located {
            line: spanned.referenced.line(),
            node: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(Node::Int)
            .map_err(|_| E::custom(format!("{v} is too large")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Located>()? {
            let value = map.next_value::<Located>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// Parses one YAML document; an empty document is `Null` on line 1.
pub fn parse(text: &str) -> Result<Located, serde_saphyr::Error> {
    if text.trim().is_empty() {
        return Ok(Located {
            node: Node::Null,
            line: 1,
        });
    }
    serde_saphyr::from_str::<Located>(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_value_keeps_its_line() {
        let doc = parse(
            "# a comment\nscenarios:\n  - name: \"x\"\n    parameters:\n      timeout: 60\n      keep: True\n      empty:\n      list: [a, 2]\n",
        )
        .unwrap();
        let Node::Map(top) = &doc.node else {
            panic!("{doc:?}")
        };
        assert_eq!(top[0].0.node, Node::Str("scenarios".into()));
        assert_eq!(top[0].0.line, 2);
        let Node::Seq(items) = &top[0].1.node else {
            panic!()
        };
        assert_eq!(items[0].line, 3);
        let Node::Map(entry) = &items[0].node else {
            panic!()
        };
        let Node::Map(params) = &entry[1].1.node else {
            panic!("{entry:?}")
        };
        let lines: Vec<u64> = params.iter().map(|(k, _)| k.line).collect();
        assert_eq!(lines, [5, 6, 7, 8]);
        assert_eq!(params[0].1.node, Node::Int(60));
        assert_eq!(params[0].1.line, 5);
        assert_eq!(params[1].1.node, Node::Bool(true));
        assert_eq!(params[2].1.node, Node::Null);
        assert_eq!(
            params[3].1.node,
            Node::Seq(vec![
                Located {
                    node: Node::Str("a".into()),
                    line: 8
                },
                Located {
                    node: Node::Int(2),
                    line: 8
                },
            ])
        );
    }

    #[test]
    fn quoted_numbers_stay_strings() {
        let doc = parse("a: \"60\"\n").unwrap();
        let Node::Map(top) = &doc.node else { panic!() };
        assert_eq!(top[0].1.node, Node::Str("60".into()));
    }
}
