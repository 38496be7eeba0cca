package app_test

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/modmono/shop/modules/identity/internal/app"
)

var phcFormat = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashPasswordRoundTrip(t *testing.T) {
	t.Parallel()
	h, err := app.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !phcFormat.MatchString(h) {
		t.Fatalf("not the PHC format with the OWASP parameters, a 16-byte salt and a 32-byte key: %s", h)
	}
	if app.NeedsRehash(h) {
		t.Fatal("a fresh hash needs a rehash")
	}
	for password, want := range map[string]bool{
		"correct horse battery":  true,
		"correct horse battery ": false,
		"Correct horse battery":  false,
		"":                       false,
	} {
		if ok, err := app.VerifyPassword(h, password); ok != want || err != nil {
			t.Errorf("verify %q: %v, %v; want %v", password, ok, err, want)
		}
	}
	again, _ := app.HashPassword("correct horse battery")
	if again == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

// A hash made with other parameters still verifies (they travel in the
// string), and is reported as due for a rehash.
func TestOlderParametersStillVerify(t *testing.T) {
	t.Parallel()
	// argon2id, m=8 t=1 p=1, salt "somesaltsomesalt", password "password12".
	const old = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$"
	key := keyFor("password12", "somesaltsomesalt", 1, 8, 1)
	h := old + key
	if ok, err := app.VerifyPassword(h, "password12"); !ok || err != nil {
		t.Fatalf("verify: %v, %v", ok, err)
	}
	if ok, _ := app.VerifyPassword(h, "password13"); ok {
		t.Fatal("wrong password accepted")
	}
	if !app.NeedsRehash(h) {
		t.Fatal("weaker parameters are not due for a rehash")
	}
}

func TestMalformedHashesAreRejected(t *testing.T) {
	t.Parallel()
	good, err := app.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, params, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for name, h := range map[string]string{
		"empty":               "",
		"garbage":             "not a hash",
		"bcrypt":              "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":             with(1, "argon2i"),
		"version 16":          with(2, "v=16"),
		"no version":          strings.Join(append(parts[:2:2], parts[3:]...), "$"),
		"missing key":         strings.Join(parts[:5], "$"),
		"extra field":         good + "$x",
		"params out of order": with(3, "t=2,m=19456,p=1"),
		"two params":          with(3, "m=19456,t=2"),
		"negative memory":     with(3, "m=-1,t=2,p=1"),
		"signed time":         with(3, "m=19456,t=+2,p=1"),
		"zero time":           with(3, "m=19456,t=0,p=1"),
		"zero threads":        with(3, "m=19456,t=2,p=0"),
		"threads overflow":    with(3, "m=19456,t=2,p=256"),
		"huge memory":         with(3, "m=4294967295,t=2,p=1"),
		"memory over uint32":  with(3, "m=4294967296,t=2,p=1"),
		"memory below 8p":     with(3, "m=15,t=1,p=2"),
		"huge time":           with(3, "m=19456,t=1000000,p=1"),
		"empty number":        with(3, "m=,t=2,p=1"),
		"salt not base64":     with(4, "!!!!"),
		"salt padded":         with(4, parts[4]+"=="),
		"salt too short":      with(4, "c2FsdA"),
		"empty salt":          with(4, ""),
		"key not base64":      with(5, "@@@@"),
		"key too short":       with(5, "a2V5"),
		"empty key":           with(5, ""),
		"key too long":        with(5, base64.RawStdEncoding.EncodeToString(make([]byte, 65))),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ok, err := app.VerifyPassword(h, "correct horse battery")
			if ok || !errors.Is(err, app.ErrMalformedHash) {
				t.Fatalf("got %v, %v; want ErrMalformedHash", ok, err)
			}
			if !app.NeedsRehash(h) {
				t.Fatal("a malformed hash is not due for a rehash")
			}
		})
	}
}

// FuzzVerifyPassword checks that no stored string, however broken, makes
// verification panic.
func FuzzVerifyPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAA", "password12")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$$", "")
	f.Add("$$$$$", "x")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		ok, err := app.VerifyPassword(encoded, password)
		if ok && err != nil {
			t.Fatal("both a match and an error")
		}
	})
}

// keyFor computes an argon2id key directly, so the test pins the PHC
// format rather than trusting HashPassword's own output.
func keyFor(password, salt string, time, memory uint32, threads uint8) string {
	return base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(password), []byte(salt), time, memory, threads, 32))
}
