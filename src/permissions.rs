//! Giving a new file the owner, group, mode, ACL and other extended attributes
//! of the file it replaces, without granting anyone more than the original
//! grants at any instant: a descriptor opened in a moment of wider access
//! stays valid after the access is narrowed, and after the rename.
//!
//! The new file was created `0600` by this process, possibly in the group of
//! a set-group-ID directory and with the directory's default ACL, which the
//! creation mode masks to nothing. The order of the steps is the proof:
//!
//! 1. Remove every attribute the original lacks: an inherited access ACL
//!    must not survive into the final file. (Its mask is empty, so it granted
//!    nothing meanwhile.)
//! 2. Copy the original's attributes other than its ACL (`user.*` notes,
//!    security labels) while the file is still ours and `0600`.
//! 3. Clear every permission bit, so that the change of owner and group
//!    grants nothing.
//! 4. Give the original's owner and group.
//! 5. Set the original's ACL (`system.*`). The kernel sets the permission
//!    bits from it in the same step: from here on the owner, group and ACL
//!    are the final file's. An ACL set before step 4 would apply its owning
//!    group's entry to the group the file was created with.
//! 6. Set the original's mode. Its permission bits are those the ACL already
//!    gave (on a file with an ACL the group bits are the mask); what it adds
//!    is the set-ID and sticky bits, which a change of owner would clear.
//!
//! Until step 4 only this process's user (and root) can open the file, from
//! step 3 to step 5 no one, and from step 5 on exactly whom the original admits.

use std::ffi::{CStr, CString};
use std::fs::File;

use rustix::fs::{self as rfs, Gid, Mode, Stat, Uid, XattrFlags};
use rustix::io::Errno;

/// The step that failed: what was being done, and the OS's reason.
pub type Failure = (String, Errno);

/// Makes `new` (just created `0600` by this process) grant what `original`
/// (described by `stat`) grants, never more on the way.
pub fn copy(original: &File, stat: &Stat, new: &File) -> Result<(), Failure> {
    let wanted =
        names(original).map_err(|err| ("listing the extended attributes of".into(), err))?;
    let inherited = names(new).map_err(|err| ("listing the extended attributes of".into(), err))?;
    for name in inherited.iter().filter(|name| !wanted.contains(name)) {
        match rfs::fremovexattr(new, name.as_c_str()) {
            Ok(()) | Err(Errno::NODATA) => {}
            Err(err) if is_label(name) && may_skip(err) => {}
            Err(err) => return Err((format!("removing the inherited {} of", shown(name)), err)),
        }
    }
    let (acls, others): (Vec<&CString>, Vec<&CString>) =
        wanted.iter().partition(|name| is_acl(name));
    for name in others {
        copy_one(original, new, name)?;
    }
    rfs::fchmod(new, Mode::empty())
        .map_err(|err| ("clearing the permission bits of".to_owned(), err))?;
    rfs::fchown(
        new,
        Some(Uid::from_raw(stat.st_uid)),
        Some(Gid::from_raw(stat.st_gid)),
    )
    .map_err(|err| ("giving the owner and group of shadow to".to_owned(), err))?;
    for name in acls {
        copy_one(original, new, name)?;
    }
    rfs::fchmod(new, Mode::from_raw_mode(stat.st_mode & 0o7777))
        .map_err(|err| ("giving the mode of shadow to".to_owned(), err))
}

/// `system.*` attributes are ACLs (POSIX, or NFSv4's on NFS): they decide
/// who may open the file.
fn is_acl(name: &CStr) -> bool {
    name.to_bytes().starts_with(b"system.")
}

/// `security.*` and `trusted.*` labels this process may not be allowed to
/// set or remove (IMA, an SELinux label it may not relabel to); those are
/// left to the system, as `sed -i` and most editors do. They grant no file
/// permission.
fn is_label(name: &CStr) -> bool {
    let name = name.to_bytes();
    name.starts_with(b"security.") || name.starts_with(b"trusted.")
}

fn may_skip(err: Errno) -> bool {
    matches!(err, Errno::PERM | Errno::ACCESS | Errno::NOTSUP)
}

fn shown(name: &CStr) -> String {
    format!("extended attribute {}", name.to_string_lossy())
}

fn copy_one(from: &File, to: &File, name: &CStr) -> Result<(), Failure> {
    let value = read_sized(|buf| rfs::fgetxattr(from, name, buf))
        .map_err(|err| (format!("reading the {} of shadow for", shown(name)), err))?;
    match rfs::fsetxattr(to, name, &value, XattrFlags::empty()) {
        Ok(()) => Ok(()),
        Err(err) if is_label(name) && may_skip(err) => Ok(()),
        Err(err) => Err((format!("copying the {} of shadow to", shown(name)), err)),
    }
}

/// The names of a file's extended attributes; none on a file system without them.
fn names(file: &File) -> Result<Vec<CString>, Errno> {
    let list = match read_sized(|buf| rfs::flistxattr(file, buf)) {
        Ok(list) => list,
        Err(Errno::NOTSUP) => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    Ok(list
        .split(|&byte| byte == 0)
        .filter(|name| !name.is_empty())
        .filter_map(|name| CString::new(name).ok())
        .collect())
}

/// Calls a `*xattr` function with a buffer that grows until the answer fits.
pub(crate) fn read_sized(
    mut call: impl FnMut(&mut [u8]) -> Result<usize, Errno>,
) -> Result<Vec<u8>, Errno> {
    let mut buffer = vec![0u8; 256];
    loop {
        match call(&mut buffer) {
            Ok(len) => {
                buffer.truncate(len);
                return Ok(buffer);
            }
            Err(Errno::RANGE) if buffer.len() < 1 << 20 => buffer.resize(buffer.len() * 4, 0),
            Err(err) => return Err(err),
        }
    }
}
