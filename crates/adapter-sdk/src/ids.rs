//! Record ids from what a source gives: never its address.

/// The local id a resource without an id takes from its `fullUrl` (FHIR R4
/// and STU3 Bundles alike): the value itself when it names no server
/// (`urn:uuid:…`, `Condition/1`), else only its `{type}/{id}` tail. A
/// source's address never becomes part of a record id, which callers see in
/// provenance. `None` when an absolute URL has no such tail (the adapter
/// then numbers the resource by its position).
pub fn local_id_from_full_url(full_url: &str, type_name: &str) -> Option<String> {
    let full_url = full_url.trim();
    if full_url.is_empty() {
        return None;
    }
    if !full_url.contains("//") {
        return Some(full_url.to_string());
    }
    let path = full_url.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.rsplit('/').filter(|s| !s.is_empty());
    let id = segments.next()?;
    (segments.next()? == type_name).then(|| format!("{type_name}/{id}"))
}

#[cfg(test)]
mod tests {
    use super::local_id_from_full_url;

    #[test]
    fn a_full_url_gives_a_local_id_without_the_sources_address() {
        let table = [
            ("urn:uuid:1f0c", Some("urn:uuid:1f0c")),
            ("Condition/7", Some("Condition/7")),
            (" ", None),
            (
                "http://10.1.2.3:8080/fhir/r4/Condition/7",
                Some("Condition/7"),
            ),
            (
                " https://ehr.example.nhs.uk/Condition/7?x=1 ",
                Some("Condition/7"),
            ),
            ("//10.1.2.3:8080/fhir/Condition/7", Some("Condition/7")),
            ("http://10.1.2.3:8080/fhir/Condition/7/_history/2", None),
            ("http://10.1.2.3:8080/fhir/Observation/7", None),
            ("http://10.1.2.3:8080", None),
        ];
        for (full_url, local) in table {
            assert_eq!(
                local_id_from_full_url(full_url, "Condition").as_deref(),
                local,
                "{full_url}"
            );
        }
    }
}
