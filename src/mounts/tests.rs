//! The model against xCAT's documented behaviour (rule ids of statelite.md §3-§4).

use super::*;
use crate::xcat::Db;

const NODELIST: &str = "#node,groups,comments,disable\n\
    \"ln1\",\"lx,rh\",,\n\"ln2\",\"lx,rh\",,\n\"ln3\",\"lx,rh\",,\n\"ln4\",\"lx\",,\n\
    \"ln5\",\"lx\",,\n\"ln6\",\"lx\",,\n\"ln7\",\"lx\",,\n";
const NODERES: &str = "#node,tftpserver,nfsserver,nfsdir,xcatmaster,comments,disable\n\
    \"lx\",,\"nfs1\",,\"sn1\",,\n\
    \"ln2\",\"<xcatmaster>\",\"<xcatmaster>\",,,,\n\
    \"ln3\",\"tftp1\",\"<xcatmaster>\",\"/gpfs\",,,\n\
    \"ln4\",,,\"//gpfs/shared\",,,\n";
const NODETYPE: &str = "#node,os,arch,profile,provmethod,comments,disable\n\
    \"lx\",\"rhels8\",\"x86_64\",\"compute\",\"img\",,\n\
    \"ln5\",,,,\"statelite\",,\n\"ln6\",,,,\"ram\",,\n\"ln7\",,,,\"netimg\",,\n";
const OSIMAGE: &str =
    "#imagename,groups,profile,provmethod,rootfstype,osvers,osarch,comments,disable\n\
    \"img\",\"grp\",\"compute\",\"statelite\",\"nfs\",\"rhels8\",\"x86_64\",,\n\
    \"rhels8-x86_64-statelite-compute\",,\"compute\",\"statelite\",,\"rhels7\",\"x86_64\",,\n\
    \"ram\",,\"compute\",\"statelite\",\"ramdisk\",\"rhels8\",\"x86_64\",,\n\
    \"netimg\",,\"compute\",\"netboot\",,\"rhels8\",\"x86_64\",,\n";
const LINUXIMAGE: &str = "#imagename,rootimgdir,comments,disable\n\
    \"img\",\"/install/custom/img\",,\n\"rhels8-x86_64-statelite-compute\",,,\n\"ram\",,,\n\"netimg\",,,\n";
const STATELITE: &str = "#node,image,statemnt,mntopts,comments,disable\n\
    \"lx\",,\"$noderes.nfsserver:/state\",\"soft\",,\n\"ln7\",,\"nfs1:/x\",,,\n";
const LITETREE: &str = "#priority,image,directory,mntopts,comments,disable\n\
    \"5\",\"grp\",\"nfs1:/lt/$node\",,,\n\"1\",\"img\",\"nfs1:/lt/img\",,,\n\
    \"3\",\"ALL\",\"/lt/local\",,,\n";
const LITEFILE: &str = "#image,file,options,comments,disable\n\"ALL\",\"/etc/hosts\",\"ro\",,\n";

fn tables(replace: &[(&str, &str)]) -> (tempfile::TempDir, Db) {
    let mut tables = vec![
        ("nodelist", NODELIST),
        ("noderes", NODERES),
        ("nodetype", NODETYPE),
        ("osimage", OSIMAGE),
        ("linuximage", LINUXIMAGE),
        ("statelite", STATELITE),
        ("litetree", LITETREE),
        ("litefile", LITEFILE),
        (
            "site",
            "#key,value,comments,disable\n\"installdir\",\"/install\",,\n",
        ),
    ];
    for (name, text) in replace {
        tables.retain(|(n, _)| n != name);
        tables.push((name, text));
    }
    Db::with_tables(&tables)
}

fn lines(db: &Db, nodes: &[&str], image: Option<&str>) -> Vec<String> {
    let r = Resolver::new(db);
    let nodes: Vec<String> = nodes.iter().map(|s| s.to_string()).collect();
    let opts = Options {
        image: image.map(str::to_string),
        nim: None,
    };
    let m = gather(&r, &nodes, &opts).unwrap();
    assert!(m.failed.is_empty(), "{:?}", m.failed);
    m.lines()
}

#[test]
fn linux_statelite_node_mounts_rootimg_statemnt_then_litetrees_in_priority_order() {
    let (_d, db) = tables(&[]);
    assert_eq!(
        lines(&db, &["ln1"], None),
        [
            "ln1: rootimg nfs1:/install/custom/img/rootimg ro",
            "ln1: statemnt nfs1:/state rw",
            "ln1: litetree nfs1:/lt/img ro",
            "ln1: litetree nfs1:/lt/ln1 ro",
        ]
    );
}

#[test]
fn r4_image_server_nfsserver_then_tftpserver_then_xcatmaster() {
    let (_d, db) = tables(&[]);
    let r = Resolver::new(&db);
    assert_eq!(linux::image_server(&r, "ln1").unwrap(), "nfs1");
    // <xcatmaster> counts as unset, in both columns.
    assert_eq!(linux::image_server(&r, "ln2").unwrap(), "sn1");
    assert_eq!(linux::image_server(&r, "ln3").unwrap(), "tftp1");
    let noderes = "#node,tftpserver,nfsserver,xcatmaster,comments,disable\n";
    let (_d2, db2) = tables(&[("noderes", noderes)]);
    let r2 = Resolver::new(&db2);
    assert_eq!(linux::image_server(&r2, "ln1").unwrap(), "!myipfn!");
}

#[test]
fn r5_nfsdir_replaces_a_custom_rootimgdir_and_the_double_slash_form_is_shared() {
    let (_d, db) = tables(&[]);
    let l = lines(&db, &["ln3", "ln4"], None);
    assert_eq!(
        l[0],
        "ln3: rootimg tftp1:/gpfs/netboot/rhels8/x86_64/compute/rootimg ro"
    );
    assert_eq!(
        l.iter().find(|l| l.starts_with("ln4: rootimg")).unwrap(),
        "ln4: rootimg nfs1:/gpfs/shared/rootimg ro"
    );
}

#[test]
fn r1_provmethod_statelite_means_the_os_arch_profile_image_and_r3_default_rootimgdir() {
    let (_d, db) = tables(&[]);
    let l = lines(&db, &["ln5"], None);
    assert_eq!(
        l[0],
        "ln5: rootimg nfs1:/install/netboot/rhels7/x86_64/compute/rootimg ro"
    );
    // nodeset's osimage=<img> wins over provmethod.
    let l = lines(&db, &["ln1"], Some("rhels8-x86_64-statelite-compute"));
    assert!(l[0].contains("/install/netboot/rhels7/"), "{l:?}");
}

#[test]
fn ramdisk_node_has_no_rootimg_line_and_r2_non_statelite_mounts_nothing() {
    let (_d, db) = tables(&[]);
    let l = lines(&db, &["ln6", "ln7"], None);
    assert!(l.iter().all(|l| !l.starts_with("ln6: rootimg")), "{l:?}");
    assert_eq!(l[0], "ln6: statemnt nfs1:/state rw");
    assert!(l.iter().all(|l| !l.starts_with("ln7")), "{l:?}");
}

#[test]
fn litetree_without_a_server_is_never_mounted_and_noted() {
    let (_d, db) = tables(&[]);
    let r = Resolver::new(&db);
    let m = gather(&r, &["ln1".to_string()], &Options::default()).unwrap();
    let n = &m.nodes[0];
    assert_eq!(n.litetree.len(), 3);
    assert!(n
        .notes
        .iter()
        .any(|x| x.contains("/lt/local") && x.contains("never mounted")));
    assert_eq!(
        n.statemnt.as_ref().unwrap().mntopts.as_deref(),
        Some("soft")
    );
    // litefile merged, with /etc/mtab added.
    assert_eq!(n.litefile.len(), 2);
}

#[test]
fn bad_input_fails_the_node_and_names_table_and_value() {
    let li = "#imagename,rootimgdir,comments,disable\n\"img\",\"/opt/img\",,\n";
    let (_d, db) = tables(&[("linuximage", li)]);
    let r = Resolver::new(&db);
    let nodes = vec!["ln1".to_string(), "ln5".to_string()];
    let m = gather(&r, &nodes, &Options::default()).unwrap();
    assert_eq!(m.failed.len(), 2, "{:?}", m.failed);
    assert!(m.failed[0]
        .message
        .contains("`/opt/img` is not under site.installdir"));
    assert!(m.failed[1]
        .message
        .contains("has no row in the linuximage table"));
    let sl =
        "#node,image,statemnt,mntopts,comments,disable\n\"ln1\",,\"nfs1:/s/#CMD=hostname#\",,,\n";
    let (_d, db) = tables(&[("statelite", sl)]);
    let r = Resolver::new(&db);
    let m = gather(&r, &["ln1".to_string()], &Options::default()).unwrap();
    assert!(
        m.failed[0].message.contains("statelite.statemnt") && m.failed[0].message.contains("#CMD=")
    );
}
