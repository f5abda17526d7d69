//! Property tests of the data layer: the tabdump reader against its writer and an independent
//! CSV reader, and noderange ranges against their arithmetic.

use proptest::prelude::*;
use xcat_extnfs::xcat::tabdump;
use xcat_extnfs::xcat::{Expander, NodeList, Table};

fn value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        4 => "[a-z0-9 ,\"\n|$()/\\\\:-]{1,12}".prop_map(Some),
    ]
}

proptest! {
    #[test]
    fn tabdump_round_trip(rows in prop::collection::vec(prop::collection::vec(value(), 3), 0..6)) {
        let columns = ["node", "groups", "comments"];
        let borrowed: Vec<Vec<Option<&str>>> =
            rows.iter().map(|r| r.iter().map(|v| v.as_deref()).collect()).collect();
        let text = tabdump::write(&columns, &borrowed);
        let dump = tabdump::parse(&text).unwrap();
        prop_assert_eq!(&dump.columns, &columns.map(String::from).to_vec());
        // A row of NULLs is written as a line of commas, which reads back as such.
        let got: Vec<Vec<Option<String>>> = dump.rows.into_iter().map(|r| r.values).collect();
        prop_assert_eq!(&got, &rows);

        // An independent CSV reader agrees on every defined value.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        for (record, row) in reader.records().zip(&rows) {
            let record = record.unwrap();
            for (field, v) in record.iter().zip(row) {
                prop_assert_eq!(field, v.as_deref().unwrap_or(""));
            }
        }
    }

    #[test]
    fn ranges_expand_to_the_right_count(
        prefix in "[a-z]{1,4}",
        width in 1usize..5,
        start in 0u32..200,
        count in 1u32..60,
    ) {
        let end = start + count - 1;
        let pad = |n: u32| format!("{prefix}{n:0width$}");
        let mut csv = String::from("#node,groups\n");
        for n in start..=end {
            csv.push_str(&format!("\"{}\",\"all\"\n", pad(n)));
        }
        let list = NodeList::from_table(&Table::parse("nodelist", "t", &csv).unwrap()).unwrap();
        let mut expander = Expander::new(&list, None);
        let expected: std::collections::BTreeSet<String> = (start..=end).map(pad).collect();
        let expected: Vec<String> = expected.into_iter().collect();
        let dash = expander.expand(&format!("{}-{}", pad(start), pad(end))).unwrap();
        prop_assert_eq!(&dash, &expected);
        let bracket = format!("{prefix}[{}-{}]", &pad(start)[prefix.len()..], &pad(end)[prefix.len()..]);
        prop_assert_eq!(&expander.expand(&bracket).unwrap(), &expected);
        let plus = expander.expand(&format!("{}+{}", pad(start), count - 1)).unwrap();
        prop_assert_eq!(plus.len(), count as usize);
    }
}
