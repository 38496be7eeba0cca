package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/identity/internal/domain"
	"github.com/modmono/shop/platform/auth"
)

// AdminName is the display name of a newly seeded administrator.
const AdminName = "Administrator"

// AdminPasswordFile is the file under the data directory that keeps the
// generated development admin password.
const AdminPasswordFile = "admin-password"

// AdminConfig says who the seeded administrator is (SPEC §7, APP_ADMIN_*).
type AdminConfig struct {
	Email    string    // APP_ADMIN_EMAIL; required
	Password string    // APP_ADMIN_PASSWORD; required outside development
	Dev      bool      // development: a missing password is generated, and the login is printed
	DataDir  string    // APP_DATA_DIR: where a generated password is kept, in AdminPasswordFile
	Stdout   io.Writer // where a person reads the development login; nil prints nothing
	Log      *zap.Logger
}

// SeedAdmin makes sure the administrator of cfg exists, has the admin role
// and has the configured password, so the configuration stays the source of
// truth: a changed APP_ADMIN_PASSWORD replaces the stored one at the next
// start. Without APP_ADMIN_PASSWORD in development, a password is generated
// once and kept in <DataDir>/admin-password (0600), so it survives restarts.
//
// A new administrator is announced with identity.user_registered (role
// admin). SeedAdmin is idempotent and safe when several processes start at
// once. In development it prints the login; it never logs a password
// outside development.
func (s *Service) SeedAdmin(ctx context.Context, cfg AdminConfig) error {
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	password, source, err := adminPassword(cfg)
	if err != nil {
		return err
	}
	in := identityapi.RegisterInput{Email: cfg.Email, Password: password, Name: AdminName}
	// The rules hold whether or not the account exists yet; checking them
	// costs no hash.
	if err := domain.CheckNewUser(in, auth.Admin); err != nil {
		return fmt.Errorf("identity: cannot seed the admin account (APP_ADMIN_EMAIL and %s): %w", source, err)
	}
	// Only a new account is hashed: an existing one is checked instead, so a
	// start with the password unchanged computes argon2 once, not twice.
	newAdmin := func() (*domain.User, error) {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		return domain.NewUser(id, in, auth.Admin, s.hasher(ctx))
	}
	email := domain.NormalizeEmail(cfg.Email)
	var promoted, passwordSet bool
	created, err := s.users.Ensure(ctx, email, newAdmin, func(u *domain.User) (bool, error) {
		promoted = u.MakeAdmin()
		ok, err := s.verify(ctx, u.PasswordHash(), password)
		if err != nil && !errors.Is(err, ErrMalformedHash) {
			return false, err
		}
		if ok && !NeedsRehash(u.PasswordHash()) {
			return promoted, nil
		}
		passwordSet = true
		return true, u.SetPassword(password, s.hasher(ctx))
	})
	if err != nil {
		return fmt.Errorf("identity: seed the admin account: %w", err)
	}
	if promoted {
		log.Warn("an existing account with APP_ADMIN_EMAIL was given the admin role", zap.String("email", email))
	}
	log.Info("admin account ready", zap.String("email", email), zap.Bool("created", created),
		zap.Bool("password_updated", passwordSet), zap.String("password_from", source))
	if cfg.Dev {
		announce(cfg.Stdout, log, email, password, source)
	}
	return nil
}

// fromConfig names APP_ADMIN_PASSWORD as the source of the password.
const fromConfig = "APP_ADMIN_PASSWORD"

// announce shows a person the development login once, as a plain line on
// stdout that stands out from the log; the log, which is kept and shipped,
// never holds the password. A configured password is not repeated: whoever
// set it knows it.
func announce(stdout io.Writer, log *zap.Logger, email, password, source string) {
	shown := password
	if source == fromConfig {
		shown = "(the value of " + fromConfig + ")"
	}
	log.Info("development admin login printed on stdout", zap.String("email", email), zap.String("password_from", source))
	if stdout != nil {
		_, _ = fmt.Fprintf(stdout, "admin login: %s / %s\n", email, shown)
	}
}

// adminPassword returns the administrator's password and where it comes
// from: APP_ADMIN_PASSWORD, or in development the generated password file.
func adminPassword(cfg AdminConfig) (password, source string, err error) {
	switch {
	case cfg.Password != "":
		return cfg.Password, fromConfig, nil
	case !cfg.Dev:
		return "", "", errors.New("identity: APP_ADMIN_PASSWORD is required outside development")
	}
	path := filepath.Join(cfg.DataDir, AdminPasswordFile)
	password, err = devPassword(path)
	return password, path, err
}

// devPassword reads the password kept in path, generating it on first use:
// 24 random URL-safe characters. The file is written under a temporary
// name and then linked into place, which fails if the name exists, so
// processes starting together all end up with the first one's password.
func devPassword(path string) (string, error) {
	if pw, err := readPassword(path); !errors.Is(err, fs.ErrNotExist) {
		return pw, err
	}
	buf := make([]byte, 18) // 18 bytes are 24 base64 characters
	_, _ = rand.Read(buf)   // never fails: crypto/rand crashes instead
	password := base64.RawURLEncoding.EncodeToString(buf)

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("identity: development admin password: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".admin-password-*") // created 0600
	if err != nil {
		return "", fmt.Errorf("identity: development admin password: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(password + "\n")
	if err := errors.Join(err, tmp.Close()); err != nil {
		return "", fmt.Errorf("identity: development admin password: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("identity: development admin password: %w", err)
	}
	return readPassword(path)
}

func readPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return "", fmt.Errorf("identity: %s is empty; delete it to generate a new admin password", path)
	}
	return pw, nil
}
