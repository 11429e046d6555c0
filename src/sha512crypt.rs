//! SHA512-crypt as specified by Ulrich Drepper ("Unix crypt using SHA-256 and
//! SHA-512", <https://www.akkadia.org/drepper/SHA-crypt.txt>), the `$6$`
//! scheme of libxcrypt's `crypt(3)`, computed directly on SHA-512's
//! compression function (`sha2::block_api::compress512`).
//!
//! Why not a SHA-512 hasher per round: a round hashes a short message (two or
//! three of the password, the salt and the previous digest), so setting up,
//! buffering, padding and wiping a hasher costs a tenth of the compression
//! itself. Here every one of the eight message shapes a round can take is
//! laid out once, padded and length-stamped; a round copies the previous
//! digest into its shape and compresses. All arithmetic is SHA-512's own;
//! the step numbers in the comments are the specification's.
//!
//! Secrets: every buffer that holds the password or a value derived from it
//! (the digests A, B, DP, DS, the P and S sequences, the round messages, the
//! running state) is ours and is zeroized before it is freed or goes out of
//! scope. What this module cannot reach are the compression function's own
//! stack temporaries (its message schedule); they are overwritten by later
//! calls but not wiped, as with any SHA-512 implementation called from Rust.

use sha2::block_api::compress512;
use zeroize::{Zeroize, Zeroizing};

/// SHA-512's block and digest sizes, in bytes.
const BLOCK: usize = 128;
const DIGEST: usize = 64;

/// The specification's salt limit: longer salts are cut to 16 characters.
pub const MAX_SALT_LEN: usize = 16;
/// Rounds when the setting names none; the hash then has no `rounds=` field.
pub const DEFAULT_ROUNDS: u32 = 5000;
/// The specification's bounds: a requested count outside them is clamped.
pub const MIN_ROUNDS: u32 = 1000;
pub const MAX_ROUNDS: u32 = 999_999_999;

/// The characters of a salt and of the encoded hash (crypt's base 64).
const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// SHA-512's initial hash value (FIPS 180-4, 5.3.5).
const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// How many rounds, as a `$6$` setting says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounds {
    /// No `rounds=` field: [`DEFAULT_ROUNDS`], and none in the result.
    Default,
    /// `rounds=N`, clamped to [`MIN_ROUNDS`]`..=`[`MAX_ROUNDS`]; the result
    /// names the clamped count.
    Explicit(u32),
}

/// `$6$[rounds=N$]<salt>$<86 characters>`: what `crypt(3)` returns for
/// `password` and the setting `$6$[rounds=N$]<salt>`. The salt is cut to
/// [`MAX_SALT_LEN`] characters, as the specification says. `None` when the
/// salt holds a character outside crypt's alphabet (`./0-9A-Za-z`), which
/// libxcrypt refuses too; every password is accepted (crypt(3) itself cannot
/// pass one holding a NUL byte).
pub fn hash(password: &[u8], salt: &[u8], rounds: Rounds) -> Option<String> {
    let salt = &salt[..salt.len().min(MAX_SALT_LEN)];
    if !salt.iter().all(|c| ALPHABET.contains(c)) {
        return None;
    }
    let count = match rounds {
        Rounds::Default => DEFAULT_ROUNDS,
        Rounds::Explicit(n) => n.clamp(MIN_ROUNDS, MAX_ROUNDS),
    };
    let mut digest = Zeroizing::new([0u8; DIGEST]);
    compute(password, salt, count, &mut digest);
    let mut out = String::with_capacity(3 + 17 + MAX_SALT_LEN + 1 + 86);
    out.push_str("$6$");
    if let Rounds::Explicit(_) = rounds {
        out.push_str(&format!("rounds={count}$"));
    }
    // The salt is alphabet characters only, hence ASCII.
    out.extend(salt.iter().map(|&c| char::from(c)));
    out.push('$');
    encode(&digest, &mut out);
    Some(out)
}

/// Encodes 12 random bytes as the 16 salt characters they fill exactly.
pub fn salt_from_bytes(bytes: &[u8; 12]) -> [u8; MAX_SALT_LEN] {
    let mut salt = [0u8; MAX_SALT_LEN];
    for (chars, group) in salt.chunks_exact_mut(4).zip(bytes.chunks_exact(3)) {
        let mut word = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        for c in chars {
            *c = ALPHABET[(word & 0x3f) as usize];
            word >>= 6;
        }
    }
    salt
}

/// Steps 1–21 of the specification: the final digest C into `out`.
fn compute(password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8; DIGEST]) {
    let p_len = password.len();

    // Steps 4–8: digest B of password, salt, password.
    let mut b = Zeroizing::new([0u8; DIGEST]);
    let mut hasher = Sha512::new();
    hasher.update(password);
    hasher.update(salt);
    hasher.update(password);
    hasher.finish(&mut b);

    // Steps 1–3 and 9–12: digest A.
    let mut a = Zeroizing::new([0u8; DIGEST]);
    let mut hasher = Sha512::new();
    hasher.update(password);
    hasher.update(salt);
    for _ in 0..p_len / DIGEST {
        hasher.update(&b[..]);
    }
    hasher.update(&b[..p_len % DIGEST]);
    let mut bits = p_len;
    while bits > 0 {
        hasher.update(if bits & 1 == 1 { &b[..] } else { password });
        bits >>= 1;
    }
    hasher.finish(&mut a);

    // Steps 13–16: the P sequence, DP (the password hashed once per byte
    // of it) repeated to the password's length.
    let mut dp = Zeroizing::new([0u8; DIGEST]);
    let mut hasher = Sha512::new();
    for _ in 0..p_len {
        hasher.update(password);
    }
    hasher.finish(&mut dp);
    // Allocated at its final size: a reallocation would leave a copy behind.
    let mut p = Zeroizing::new(Vec::with_capacity(p_len));
    p.extend(dp.iter().copied().cycle().take(p_len));

    // Steps 17–20: the S sequence, from DS (the salt hashed 16 + A[0] times).
    let mut ds = Zeroizing::new([0u8; DIGEST]);
    let mut hasher = Sha512::new();
    for _ in 0..16 + usize::from(a[0]) {
        hasher.update(salt);
    }
    hasher.finish(&mut ds);
    let s = &ds[..salt.len()];

    // Step 21: the rounds, C starting as A.
    let mut shapes = RoundShapes::new(&p, s);
    out.copy_from_slice(&a[..]);
    let mut state = Zeroizing::new([0u64; 8]);
    for round in 0..rounds {
        *state = IV;
        compress512(&mut state, shapes.with_digest(round, out));
        for (bytes, word) in out.chunks_exact_mut(8).zip(state.iter()) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
    }
}

/// The eight messages a round hashes, padded and ready for the compression
/// function, each with room for the previous digest C. Round `i` hashes:
/// P if `i` is odd, else C; then S unless 3 divides `i`; then P unless 7
/// divides `i`; then C if `i` is odd, else P (steps 21 b–f).
struct RoundShapes {
    /// All shapes' blocks, one after another; wiped on drop.
    blocks: Zeroizing<Vec<[u8; BLOCK]>>,
    /// Per shape: its first block, its number of blocks, where C goes.
    shapes: [(usize, usize, usize); 8],
}

impl RoundShapes {
    fn new(p: &[u8], s: &[u8]) -> RoundShapes {
        // Both buffers are allocated at their largest size up front: a
        // reallocation would leave a copy of the password sequence behind.
        let longest = DIGEST + s.len() + 2 * p.len();
        let mut message = Zeroizing::new(Vec::with_capacity(longest));
        let mut blocks = Zeroizing::new(Vec::with_capacity(8 * padded_blocks(longest)));
        let mut shapes = [(0, 0, 0); 8];
        for (index, shape) in shapes.iter_mut().enumerate() {
            let (odd, with_s, with_p) = (index & 1 == 1, index & 2 != 0, index & 4 != 0);
            message.clear();
            let c_placeholder = [0u8; DIGEST];
            message.extend_from_slice(if odd { p } else { &c_placeholder });
            if with_s {
                message.extend_from_slice(s);
            }
            if with_p {
                message.extend_from_slice(p);
            }
            message.extend_from_slice(if odd { &c_placeholder } else { p });
            let c_at = if odd { message.len() - DIGEST } else { 0 };
            let first = blocks.len();
            pad_into(&message, &mut blocks);
            *shape = (first, blocks.len() - first, c_at);
        }
        RoundShapes { blocks, shapes }
    }

    /// The padded message of round `round`, with `c` written into it. The
    /// copy of `c` stays there until a later round or the drop overwrites it.
    fn with_digest(&mut self, round: u32, c: &[u8; DIGEST]) -> &[[u8; BLOCK]] {
        let index = (round & 1) as usize
            | usize::from(!round.is_multiple_of(3)) << 1
            | usize::from(!round.is_multiple_of(7)) << 2;
        let (first, count, c_at) = self.shapes[index];
        let blocks = &mut self.blocks[first..first + count];
        blocks.as_flattened_mut()[c_at..c_at + DIGEST].copy_from_slice(c);
        blocks
    }
}

/// Appends `message` to `blocks` with SHA-512's padding: a 1 bit, zeros, and
/// the length in bits as a 128-bit big-endian number, to a whole block.
fn pad_into(message: &[u8], blocks: &mut Vec<[u8; BLOCK]>) {
    let count = padded_blocks(message.len());
    let first = blocks.len();
    blocks.resize(first + count, [0; BLOCK]);
    let bytes = blocks[first..].as_flattened_mut();
    bytes[..message.len()].copy_from_slice(message);
    bytes[message.len()] = 0x80;
    let bits = (message.len() as u128) * 8;
    let end = bytes.len();
    bytes[end - 16..].copy_from_slice(&bits.to_be_bytes());
}

/// Blocks in a padded message of `len` bytes.
fn padded_blocks(len: usize) -> usize {
    (len + 1 + 16).div_ceil(BLOCK)
}

/// A streaming SHA-512 for steps 1–20, whose inputs can be long (the
/// password hashed once per byte of it). Its state and buffer are wiped
/// on drop.
struct Sha512 {
    state: [u64; 8],
    buffer: [u8; BLOCK],
    /// Bytes waiting in `buffer`.
    filled: usize,
    /// Bytes hashed so far.
    length: u128,
}

impl Sha512 {
    fn new() -> Sha512 {
        Sha512 {
            state: IV,
            buffer: [0; BLOCK],
            filled: 0,
            length: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.length += data.len() as u128;
        if self.filled > 0 {
            let take = data.len().min(BLOCK - self.filled);
            self.buffer[self.filled..self.filled + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled < BLOCK {
                return;
            }
            compress512(&mut self.state, std::slice::from_ref(&self.buffer));
            self.filled = 0;
        }
        let (whole, rest) = data.as_chunks::<BLOCK>();
        compress512(&mut self.state, whole);
        self.buffer[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    fn finish(mut self, out: &mut [u8; DIGEST]) {
        let bits = self.length * 8;
        self.buffer[self.filled] = 0x80;
        self.buffer[self.filled + 1..].fill(0);
        if self.filled + 1 > BLOCK - 16 {
            compress512(&mut self.state, std::slice::from_ref(&self.buffer));
            self.buffer.fill(0);
        }
        self.buffer[BLOCK - 16..].copy_from_slice(&bits.to_be_bytes());
        compress512(&mut self.state, std::slice::from_ref(&self.buffer));
        for (bytes, word) in out.chunks_exact_mut(8).zip(self.state.iter()) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
    }
}

impl Drop for Sha512 {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buffer.zeroize();
    }
}

/// Step 22: the digest's bytes, in the specification's order, as 86
/// characters of crypt's base 64, least significant 6 bits first.
fn encode(digest: &[u8; DIGEST], out: &mut String) {
    // Each group of three bytes gives four characters; byte i, i + 21 and
    // i + 42 go together, rotated as the specification lists them.
    const GROUPS: [[usize; 3]; 21] = [
        [0, 21, 42],
        [22, 43, 1],
        [44, 2, 23],
        [3, 24, 45],
        [25, 46, 4],
        [47, 5, 26],
        [6, 27, 48],
        [28, 49, 7],
        [50, 8, 29],
        [9, 30, 51],
        [31, 52, 10],
        [53, 11, 32],
        [12, 33, 54],
        [34, 55, 13],
        [56, 14, 35],
        [15, 36, 57],
        [37, 58, 16],
        [59, 17, 38],
        [18, 39, 60],
        [40, 61, 19],
        [62, 20, 41],
    ];
    let mut push = |mut word: u32, chars: usize| {
        for _ in 0..chars {
            out.push(char::from(ALPHABET[(word & 0x3f) as usize]));
            word >>= 6;
        }
    };
    for [high, middle, low] in GROUPS {
        push(
            u32::from(digest[high]) << 16 | u32::from(digest[middle]) << 8 | u32::from(digest[low]),
            4,
        );
    }
    push(u32::from(digest[63]), 2);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys;

    /// The SHA-512 test vectors of the specification, every one: salts longer
    /// than 16 characters are cut, rounds below the minimum raised to it.
    #[test]
    fn specification_vectors() {
        #[rustfmt::skip]
        let vectors: [(&str, &str, Rounds, &str); 7] = [
            ("Hello world!", "saltstring", Rounds::Default,
             "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
            ("Hello world!", "saltstringsaltstring", Rounds::Explicit(10000),
             "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."),
            ("This is just a test", "toolongsaltstring", Rounds::Explicit(5000),
             "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"),
            ("a very much longer text to encrypt.  This one even stretches over morethan one line.", "anotherlongsaltstring", Rounds::Explicit(1400),
             "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"),
            ("we have a short salt string but not a short password", "short", Rounds::Explicit(77777),
             "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"),
            ("a short string", "asaltof16chars..", Rounds::Explicit(123456),
             "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"),
            ("the minimum number is still observed", "roundstoolow", Rounds::Explicit(10),
             "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."),
        ];
        for (password, salt, rounds, expected) in vectors {
            let got = hash(password.as_bytes(), salt.as_bytes(), rounds);
            assert_eq!(got.as_deref(), Some(expected), "{password:?} {salt:?}");
        }
    }

    #[test]
    fn salts_outside_the_alphabet_are_refused() {
        for salt in [&b"a$b"[..], b"a:b", b"a b", b"\n", b"\xc3\xa9", b"sal\0t"] {
            assert_eq!(hash(b"pw", salt, Rounds::Default), None, "{salt:?}");
        }
        // Only the 16 characters used are checked, as crypt(3) reads no more.
        assert!(hash(b"pw", b"0123456789abcdef$", Rounds::Default).is_some());
    }

    #[test]
    fn salt_from_bytes_fills_16_alphabet_characters() {
        let cases: [([u8; 12], &[u8; 16]); 3] = [
            ([0; 12], b"................"),
            ([0xff; 12], b"zzzzzzzzzzzzzzzz"),
            // Least significant 6 bits first, as crypt's base 64 goes.
            ([0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0, 0, 0], b"/..../.........."),
        ];
        for (bytes, expected) in cases {
            assert_eq!(&salt_from_bytes(&bytes), expected, "{bytes:?}");
        }
    }

    /// The streaming hasher of steps 1–20 against sha2's, fed in pieces
    /// that end on and around block boundaries.
    #[test]
    fn streaming_sha512_matches_sha2() {
        use sha2::Digest;
        let data: Vec<u8> = (0..1000u32).map(|n| (n * 7 + 3) as u8).collect();
        for len in [0, 1, 111, 112, 127, 128, 129, 239, 240, 256, 1000] {
            for piece in [1, 63, 64, 128, 200, 1000] {
                let mut ours = Sha512::new();
                data[..len]
                    .chunks(piece)
                    .for_each(|chunk| ours.update(chunk));
                let mut got = [0u8; DIGEST];
                ours.finish(&mut got);
                let expected = sha2::Sha512::digest(&data[..len]);
                assert_eq!(got[..], expected[..], "len {len}, pieces of {piece}");
            }
        }
    }

    /// splitmix64: reproducible random cases from a printed seed.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Uniform in `low..=high` (the bias of a modulo is immaterial here).
        fn between(&mut self, low: usize, high: usize) -> usize {
            low + (self.next() % (high - low + 1) as u64) as usize
        }
    }

    /// A random password (1–511 bytes, any value but NUL; half of them 1–140
    /// bytes, where the messages cross block boundaries), salt (0–16
    /// characters of the alphabet) and rounds (1000–10000, or the default).
    fn random_case(random: &mut Random) -> (Vec<u8>, Vec<u8>, Rounds) {
        let max = if random.next().is_multiple_of(2) {
            140
        } else {
            511
        };
        let password = (0..random.between(1, max))
            .map(|_| random.between(1, 255) as u8)
            .collect();
        let salt = (0..random.between(0, MAX_SALT_LEN))
            .map(|_| ALPHABET[random.between(0, 63)])
            .collect();
        let rounds = match random.between(0, 9) {
            0 => Rounds::Default,
            _ => Rounds::Explicit(random.between(1000, 10_000) as u32),
        };
        (password, salt, rounds)
    }

    /// Random cases against libxcrypt's `crypt_r`. `PASSWDPOP_SHA512CRYPT_CASES`
    /// sets how many (`make stress` runs 1 000 000, on every core);
    /// `PASSWDPOP_SHA512CRYPT_SEED` replays a run. Case `n` depends only on
    /// the seed and `n`, so `PASSWDPOP_SHA512CRYPT_FIRST` continues a long run
    /// where an earlier one stopped (its last progress line says where), and
    /// one run can be split across machines.
    #[test]
    fn random_cases_match_crypt_r() {
        use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
        let env = |name: &str| std::env::var(name).ok().map(|v| v.parse::<u64>().unwrap());
        let cases = env("PASSWDPOP_SHA512CRYPT_CASES").unwrap_or(48);
        let first = env("PASSWDPOP_SHA512CRYPT_FIRST").unwrap_or(0);
        let seed = env("PASSWDPOP_SHA512CRYPT_SEED").unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty()).unwrap();
            u64::from_ne_bytes(bytes)
        });
        let end = first + cases;
        let next = AtomicU64::new(first);
        // Every case below this one has been checked (progress lines).
        let done_below = std::sync::Mutex::new((first, std::collections::BTreeSet::new()));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let checked: u64 = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = 0;
                        loop {
                            let case = next.fetch_add(1, Relaxed);
                            if case >= end {
                                return mine;
                            }
                            check_random_case(seed, case);
                            mine += 1;
                            let mut done = done_below.lock().unwrap();
                            let (below, ahead) = &mut *done;
                            ahead.insert(case);
                            while ahead.remove(below) {
                                *below += 1;
                                // A long run shows how far it got.
                                if below.is_multiple_of(10_000) {
                                    println!("seed {seed}: cases {first}..{below} equal");
                                }
                            }
                        }
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        assert_eq!(checked, cases);
        println!("{checked} random cases equal to crypt_r (seed {seed}, cases {first}..{end})");
    }

    /// Case `case` of the run seeded `seed`, ours against `crypt_r`.
    fn check_random_case(seed: u64, case: u64) {
        let mut random = Random(seed ^ case.wrapping_mul(0x5851_f42d_4c95_7f2d));
        let (password, salt, rounds) = random_case(&mut random);
        let mut setting = b"$6$".to_vec();
        if let Rounds::Explicit(n) = rounds {
            setting.extend_from_slice(format!("rounds={n}$").as_bytes());
        }
        setting.extend_from_slice(&salt);
        let expected = sys::crypt(&password, &setting);
        let got = hash(&password, &salt, rounds);
        assert_eq!(
            got.as_deref().map(str::as_bytes),
            expected.as_deref().map(Vec::as_slice),
            "seed {seed}, case {case}: password {password:?}, setting {:?}",
            String::from_utf8_lossy(&setting)
        );
    }
}
