package store

import (
	"fmt"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
)

// MinPasswordLength is the shortest password a resident may choose, in
// characters.
const MinPasswordLength = 10

// residentRecord is a resident as stored in the residents bucket.
type residentRecord struct {
	ID           string
	Country      string
	NationalID   string
	Name         string
	Status       ResidentStatus
	PublicKey    []byte
	PasswordWrap []byte // crypto password wrapping of the private key
	RecoveryWrap []byte // crypto recovery wrapping of the private key
	Created      time.Time
	LastLogin    time.Time
}

func (r *residentRecord) resident() Resident {
	out := Resident{
		ID:         r.ID,
		NationalID: NationalID{Country: r.Country, Number: r.NationalID},
		Name:       r.Name,
		Status:     r.Status,
		Created:    r.Created,
		LastLogin:  r.LastLogin,
	}
	copy(out.PublicKey[:], r.PublicKey)
	return out
}

func checkPassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return invalid("password", "at least %d characters", MinPasswordLength)
	}
	if len(password) > 1024 {
		return invalid("password", "at most 1024 bytes")
	}
	return nil
}

// AddResident enrols a resident: it makes the key pair, wraps the private
// key with the password and with a new recovery key, and stores the
// resident. The recovery key is returned once, to be shown to the
// resident; it is not stored.
func (s *Store) AddResident(nid NationalID, name, password string) (Resident, crypto.RecoveryKey, error) {
	var rk crypto.RecoveryKey
	name = normaliseSpaces(name)
	if nid.IsZero() {
		return Resident{}, rk, invalid("nationalId", "missing")
	}
	if name == "" || len(name) > 200 || !utf8.ValidString(name) {
		return Resident{}, rk, invalid("name", "between 1 and 200 bytes of text")
	}
	if err := checkPassword(password); err != nil {
		return Resident{}, rk, err
	}
	priv, err := crypto.GenerateKeyPair(s.rand)
	if err != nil {
		return Resident{}, rk, err
	}
	defer priv.Zero()
	if rk, err = crypto.NewRecoveryKey(s.rand); err != nil {
		return Resident{}, rk, err
	}
	pwWrap, err := crypto.WrapWithPassword(s.rand, priv, []byte(password), s.kdf)
	if err != nil {
		return Resident{}, rk, err
	}
	rkWrap, err := crypto.WrapWithRecoveryKey(s.rand, priv, rk)
	if err != nil {
		return Resident{}, rk, err
	}
	id, err := s.newID()
	if err != nil {
		return Resident{}, rk, err
	}
	pub := priv.Public()
	now := s.now()
	rec := residentRecord{
		ID: id, Country: nid.Country, NationalID: nid.Number, Name: name, Status: ResidentActive,
		PublicKey: pub[:], PasswordWrap: pwWrap, RecoveryWrap: rkWrap, Created: now,
	}
	err = s.update(func(tx *bolt.Tx) error {
		byNID := tx.Bucket(bucketResidentsByNID)
		if byNID.Get([]byte(nid.Number)) != nil {
			return fmt.Errorf("resident %s: %w", nid, ErrExists)
		}
		if err := byNID.Put([]byte(nid.Number), []byte(id)); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bucketResidents), []byte(id), &rec); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "operator", "add-resident", "resident:"+id)
	})
	if err != nil {
		return Resident{}, crypto.RecoveryKey{}, err
	}
	return rec.resident(), rk, nil
}

func getResident(tx *bolt.Tx, id string) (*residentRecord, error) {
	var rec residentRecord
	if err := getJSON(tx.Bucket(bucketResidents), []byte(id), &rec); err != nil {
		return nil, fmt.Errorf("resident %s: %w", id, err)
	}
	return &rec, nil
}

func getResidentByNID(tx *bolt.Tx, nid NationalID) (*residentRecord, error) {
	id := tx.Bucket(bucketResidentsByNID).Get([]byte(nid.Number))
	if id == nil {
		return nil, ErrNotFound
	}
	return getResident(tx, string(id))
}

// Resident returns the resident with the given id.
func (s *Store) Resident(id string) (Resident, error) {
	var out Resident
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getResident(tx, id)
		if err != nil {
			return err
		}
		out = rec.resident()
		return nil
	})
	return out, err
}

// ResidentByNationalID returns the resident with the given number.
func (s *Store) ResidentByNationalID(nid NationalID) (Resident, error) {
	var out Resident
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getResidentByNID(tx, nid)
		if err != nil {
			return fmt.Errorf("resident %s: %w", nid, err)
		}
		out = rec.resident()
		return nil
	})
	return out, err
}

// Residents returns all residents, ordered by national identity number.
func (s *Store) Residents() ([]Resident, error) {
	var out []Resident
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketResidentsByNID).ForEach(func(_, id []byte) error {
			rec, err := getResident(tx, string(id))
			if err != nil {
				return err
			}
			out = append(out, rec.resident())
			return nil
		})
	})
	return out, err
}

// IsDigital reports whether the person takes digital post here: false when
// there is no mailbox, or it is reserved, closed or deceased. This is the
// sender API's recipient lookup.
func (s *Store) IsDigital(nid NationalID) (bool, error) {
	var digital bool
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getResidentByNID(tx, nid)
		if err == ErrNotFound {
			return nil
		} else if err != nil {
			return err
		}
		digital = rec.Status == ResidentActive
		return nil
	})
	return digital, err
}

// recipientFor returns the active resident a letter to nid goes to.
func recipientFor(tx *bolt.Tx, nid NationalID) (*residentRecord, error) {
	rec, err := getResidentByNID(tx, nid)
	if err == ErrNotFound {
		return nil, ErrUnknownRecipient
	} else if err != nil {
		return nil, err
	}
	if rec.Status != ResidentActive {
		return nil, ErrRecipientNotDigital
	}
	return rec, nil
}
