//! ReqIF 1.2 (OMG's Requirements Interchange Format), for requirements tools such as
//! DOORS, Polarion or Jama: one `SPECIFICATION` for the branch, a `SPEC-HIERARCHY` per
//! document (a section object with its title) holding one per requirement; a
//! `SPEC-OBJECT` per requirement identified by its lasting identity, with its key,
//! title, text and scenarios (XHTML) and priority as attributes; a requirement's
//! `[[links]]` to others as `SPEC-RELATIONS`. Export only. Written with quick-xml, which
//! escapes every value.

use std::io::Cursor;

use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use uuid::Uuid;

use crate::error::{Error, Result};

/// A document and its requirements, in order.
pub struct Section {
    pub id: Uuid,
    pub title: String,
    pub requirements: Vec<Item>,
}

/// A requirement as exported.
pub struct Item {
    /// Its lasting identity.
    pub id: Uuid,
    pub key: String,
    pub title: String,
    pub text: String,
    pub priority: Option<String>,
    pub scenarios: Vec<String>,
    /// The identities of the requirements it links to.
    pub links: Vec<Uuid>,
}

const NS: &str = "http://www.omg.org/spec/ReqIF/20110401/reqif.xsd";
const XHTML: &str = "http://www.w3.org/1999/xhtml";

/// The `.reqif` XML of `sections`, for the project titled `title`.
pub fn write(title: &str, sections: &[Section], now: DateTime<Utc>) -> Result<String> {
    let mut out = Out { writer: Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 1), now: stamp(now) };
    out.write(title, sections).map_err(|error| Error::internal(format!("writing ReqIF: {error}")))?;
    String::from_utf8(out.writer.into_inner().into_inner()).map_err(Error::internal)
}

/// A requirement's or document's identifier: its lasting id, made an `xsd:ID` (which may
/// not begin with a digit).
pub fn object_id(id: Uuid) -> String {
    format!("charter-{id}")
}

fn stamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Attribute definitions of a requirement: identifier, long name, datatype, XHTML or not.
const ATTRIBUTES: [(&str, &str, bool); 5] = [
    ("charter-key", "ReqIF.ForeignID", false),
    ("charter-title", "ReqIF.Name", false),
    ("charter-text", "ReqIF.Text", true),
    ("charter-priority", "Priority", false),
    ("charter-scenarios", "Scenarios", true),
];

struct Out {
    writer: Writer<Cursor<Vec<u8>>>,
    now: String,
}

type Written = std::result::Result<(), quick_xml::Error>;

impl Out {
    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) -> Written {
        let mut start = BytesStart::new(name);
        start.extend_attributes(attributes.iter().copied());
        self.writer.write_event(Event::Start(start)).map_err(Into::into)
    }

    fn close(&mut self, name: &str) -> Written {
        self.writer.write_event(Event::End(BytesEnd::new(name))).map_err(Into::into)
    }

    fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) -> Written {
        let mut start = BytesStart::new(name);
        start.extend_attributes(attributes.iter().copied());
        self.writer.write_event(Event::Empty(start)).map_err(Into::into)
    }

    fn text_element(&mut self, name: &str, text: &str) -> Written {
        self.open(name, &[])?;
        self.writer.write_event(Event::Text(BytesText::new(text)))?;
        self.close(name)
    }

    /// `<NAME><REF>id</REF></NAME>`, how ReqIF points at things.
    fn reference(&mut self, name: &str, kind: &str, id: &str) -> Written {
        self.open(name, &[])?;
        self.text_element(kind, id)?;
        self.close(name)
    }

    fn write(&mut self, title: &str, sections: &[Section]) -> Written {
        let now = self.now.clone();
        self.writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        self.open("REQ-IF", &[("xmlns", NS), ("xmlns:xhtml", XHTML)])?;
        self.open("THE-HEADER", &[])?;
        self.open("REQ-IF-HEADER", &[("IDENTIFIER", &format!("charter-{}", Uuid::new_v4()))])?;
        self.text_element("CREATION-TIME", &now)?;
        self.text_element("REQ-IF-TOOL-ID", "Charter")?;
        self.text_element("REQ-IF-VERSION", "1.0")?;
        self.text_element("SOURCE-TOOL-ID", "Charter")?;
        self.text_element("TITLE", title)?;
        self.close("REQ-IF-HEADER")?;
        self.close("THE-HEADER")?;
        self.open("CORE-CONTENT", &[])?;
        self.open("REQ-IF-CONTENT", &[])?;
        self.types()?;
        self.objects(sections)?;
        self.relations(sections)?;
        self.specification(title, sections)?;
        self.close("REQ-IF-CONTENT")?;
        self.close("CORE-CONTENT")?;
        self.close("REQ-IF")
    }

    fn types(&mut self) -> Written {
        let now = self.now.clone();
        self.open("DATATYPES", &[])?;
        let string = [("IDENTIFIER", "charter-string"), ("LAST-CHANGE", &now), ("LONG-NAME", "String")];
        self.empty("DATATYPE-DEFINITION-STRING", &[string[0], string[1], string[2], ("MAX-LENGTH", "1000000")])?;
        let xhtml = [("IDENTIFIER", "charter-xhtml"), ("LAST-CHANGE", &now), ("LONG-NAME", "XHTML")];
        self.empty("DATATYPE-DEFINITION-XHTML", &xhtml)?;
        self.close("DATATYPES")?;
        self.open("SPEC-TYPES", &[])?;
        for (id, name) in [("charter-requirement", "Requirement"), ("charter-section", "Document")] {
            self.open("SPEC-OBJECT-TYPE", &[("IDENTIFIER", id), ("LAST-CHANGE", &now), ("LONG-NAME", name)])?;
            self.open("SPEC-ATTRIBUTES", &[])?;
            let attributes: &[(&str, &str, bool)] = if id == "charter-requirement" {
                &ATTRIBUTES
            } else {
                &[("charter-section-title", "ReqIF.ChapterName", false)]
            };
            for &(attribute, long_name, xhtml) in attributes {
                let (definition, datatype, datatype_ref) = if xhtml {
                    ("ATTRIBUTE-DEFINITION-XHTML", "charter-xhtml", "DATATYPE-DEFINITION-XHTML-REF")
                } else {
                    ("ATTRIBUTE-DEFINITION-STRING", "charter-string", "DATATYPE-DEFINITION-STRING-REF")
                };
                self.open(definition, &[("IDENTIFIER", attribute), ("LAST-CHANGE", &now), ("LONG-NAME", long_name)])?;
                self.reference("TYPE", datatype_ref, datatype)?;
                self.close(definition)?;
            }
            self.close("SPEC-ATTRIBUTES")?;
            self.close("SPEC-OBJECT-TYPE")?;
        }
        self.empty(
            "SPEC-RELATION-TYPE",
            &[("IDENTIFIER", "charter-link"), ("LAST-CHANGE", &now), ("LONG-NAME", "Links to")],
        )?;
        self.empty(
            "SPECIFICATION-TYPE",
            &[("IDENTIFIER", "charter-specification"), ("LAST-CHANGE", &now), ("LONG-NAME", "Specification")],
        )?;
        self.close("SPEC-TYPES")
    }

    fn string_value(&mut self, attribute: &str, value: &str) -> Written {
        self.open("ATTRIBUTE-VALUE-STRING", &[("THE-VALUE", value)])?;
        self.reference("DEFINITION", "ATTRIBUTE-DEFINITION-STRING-REF", attribute)?;
        self.close("ATTRIBUTE-VALUE-STRING")
    }

    /// An XHTML value: a `div` of paragraphs, or a list of items.
    fn xhtml_value(&mut self, attribute: &str, paragraphs: &[&str], list: bool) -> Written {
        self.open("ATTRIBUTE-VALUE-XHTML", &[])?;
        self.reference("DEFINITION", "ATTRIBUTE-DEFINITION-XHTML-REF", attribute)?;
        self.open("THE-VALUE", &[])?;
        self.open("xhtml:div", &[])?;
        if list {
            self.open("xhtml:ul", &[])?;
        }
        for paragraph in paragraphs {
            self.text_element(if list { "xhtml:li" } else { "xhtml:p" }, paragraph)?;
        }
        if list {
            self.close("xhtml:ul")?;
        }
        self.close("xhtml:div")?;
        self.close("THE-VALUE")?;
        self.close("ATTRIBUTE-VALUE-XHTML")
    }

    fn objects(&mut self, sections: &[Section]) -> Written {
        let now = self.now.clone();
        self.open("SPEC-OBJECTS", &[])?;
        for section in sections {
            let id = object_id(section.id);
            self.open("SPEC-OBJECT", &[("IDENTIFIER", &id), ("LAST-CHANGE", &now), ("LONG-NAME", &section.title)])?;
            self.reference("TYPE", "SPEC-OBJECT-TYPE-REF", "charter-section")?;
            self.open("VALUES", &[])?;
            self.string_value("charter-section-title", &section.title)?;
            self.close("VALUES")?;
            self.close("SPEC-OBJECT")?;
            for item in &section.requirements {
                let id = object_id(item.id);
                self.open("SPEC-OBJECT", &[("IDENTIFIER", &id), ("LAST-CHANGE", &now), ("LONG-NAME", &item.key)])?;
                self.reference("TYPE", "SPEC-OBJECT-TYPE-REF", "charter-requirement")?;
                self.open("VALUES", &[])?;
                self.string_value("charter-key", &item.key)?;
                self.string_value("charter-title", &item.title)?;
                self.xhtml_value("charter-text", &[&item.text], false)?;
                if let Some(priority) = &item.priority {
                    self.string_value("charter-priority", priority)?;
                }
                if !item.scenarios.is_empty() {
                    let scenarios: Vec<&str> = item.scenarios.iter().map(String::as_str).collect();
                    self.xhtml_value("charter-scenarios", &scenarios, true)?;
                }
                self.close("VALUES")?;
                self.close("SPEC-OBJECT")?;
            }
        }
        self.close("SPEC-OBJECTS")
    }

    fn relations(&mut self, sections: &[Section]) -> Written {
        let now = self.now.clone();
        self.open("SPEC-RELATIONS", &[])?;
        for item in sections.iter().flat_map(|section| &section.requirements) {
            for target in &item.links {
                let id = format!("charter-link-{}-{target}", item.id);
                self.open("SPEC-RELATION", &[("IDENTIFIER", &id), ("LAST-CHANGE", &now)])?;
                self.reference("TYPE", "SPEC-RELATION-TYPE-REF", "charter-link")?;
                self.reference("SOURCE", "SPEC-OBJECT-REF", &object_id(item.id))?;
                self.reference("TARGET", "SPEC-OBJECT-REF", &object_id(*target))?;
                self.close("SPEC-RELATION")?;
            }
        }
        self.close("SPEC-RELATIONS")
    }

    fn specification(&mut self, title: &str, sections: &[Section]) -> Written {
        let now = self.now.clone();
        self.open("SPECIFICATIONS", &[])?;
        let id = format!("charter-specification-{}", Uuid::new_v4());
        self.open("SPECIFICATION", &[("IDENTIFIER", &id), ("LAST-CHANGE", &now), ("LONG-NAME", title)])?;
        self.reference("TYPE", "SPECIFICATION-TYPE-REF", "charter-specification")?;
        self.open("CHILDREN", &[])?;
        for section in sections {
            self.hierarchy(section.id, &now, |out| {
                if section.requirements.is_empty() {
                    return Ok(());
                }
                out.open("CHILDREN", &[])?;
                for item in &section.requirements {
                    out.hierarchy(item.id, &now, |_| Ok(()))?;
                }
                out.close("CHILDREN")
            })?;
        }
        self.close("CHILDREN")?;
        self.close("SPECIFICATION")?;
        self.close("SPECIFICATIONS")
    }

    fn hierarchy(&mut self, object: Uuid, now: &str, children: impl FnOnce(&mut Out) -> Written) -> Written {
        let id = format!("charter-hierarchy-{object}");
        self.open("SPEC-HIERARCHY", &[("IDENTIFIER", &id), ("LAST-CHANGE", now)])?;
        self.reference("OBJECT", "SPEC-OBJECT-REF", &object_id(object))?;
        children(self)?;
        self.close("SPEC-HIERARCHY")
    }
}
