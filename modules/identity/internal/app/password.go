package app

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// The argon2id parameters of new hashes: the OWASP Password Storage Cheat
// Sheet minimum (19 MiB of memory, 2 passes, 1 lane), a 16-byte random salt
// and a 32-byte key. A stored hash carries its own parameters, so raising
// these later keeps old hashes verifiable (see NeedsRehash).
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	saltLen      = 16
	keyLen       = 32
)

// Bounds on the parameters a stored hash may ask for, so a corrupt or
// hostile row cannot make one check take gigabytes or minutes.
const (
	maxMemory  = 256 * 1024 // KiB
	maxTime    = 16
	maxThreads = 16
)

// ErrMalformedHash means a stored hash is not an argon2id PHC string within
// the accepted bounds.
var ErrMalformedHash = errors.New("identity: malformed password hash")

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding.Strict()

// HashPassword returns the argon2id hash of password with a fresh random
// salt, in PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches encoded, a hash made by
// HashPassword (with any parameters within bounds). The keys are compared in
// constant time. A malformed hash is ErrMalformedHash, never a panic.
func VerifyPassword(encoded, password string) (bool, error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// NeedsRehash reports whether encoded was made with other parameters than
// new hashes use (or cannot be read), so it should be replaced when the
// password is next known.
func NeedsRehash(encoded string) bool {
	h, err := parseHash(encoded)
	return err != nil || h.memory != argonMemory || h.time != argonTime || h.threads != argonThreads ||
		len(h.salt) != saltLen || len(h.key) != keyLen
}

// phc is a parsed argon2id hash.
type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parseHash reads "$argon2id$v=19$m=M,t=T,p=P$salt$key" strictly: the fields
// in this order, decimal numbers without signs, the version argon2 computes.
func parseHash(encoded string) (phc, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, fmt.Errorf("%w: not an argon2id v=19 PHC string", ErrMalformedHash)
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return phc{}, fmt.Errorf("%w: want m=,t=,p= parameters", ErrMalformedHash)
	}
	m, errM := param(params[0], "m=", 8, maxMemory)
	t, errT := param(params[1], "t=", 1, maxTime)
	p, errP := param(params[2], "p=", 1, maxThreads)
	if err := errors.Join(errM, errT, errP); err != nil {
		return phc{}, err
	}
	if m < 8*p {
		return phc{}, fmt.Errorf("%w: m must be at least 8 times p", ErrMalformedHash)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return phc{}, fmt.Errorf("%w: bad salt", ErrMalformedHash)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return phc{}, fmt.Errorf("%w: bad key", ErrMalformedHash)
	}
	return phc{memory: m, time: t, threads: uint8(p), salt: salt, key: key}, nil
}

// param reads "<prefix><decimal>" with the number in [lo, hi].
func param(s, prefix string, lo, hi uint32) (uint32, error) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, fmt.Errorf("%w: want %s<number>", ErrMalformedHash, prefix)
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || uint32(n) < lo || uint32(n) > hi {
		return 0, fmt.Errorf("%w: %s out of range %d-%d", ErrMalformedHash, prefix, lo, hi)
	}
	return uint32(n), nil
}
