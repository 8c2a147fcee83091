// Package nanjson encodes JSON exactly as encoding/json does, except that a
// float that is NaN or infinite is written as null instead of failing the
// whole encoding. JSON has no NaN or infinity, and a report or a checkpoint
// written at the end of a long run must not be lost because one number in it
// is undefined (Kendall's tau of a constant map, an accuracy over no images).
//
// Values without such floats encode through encoding/json unchanged. For the
// others, a copy of the value is made in which each non-finite float holds a
// sentinel value that occurs nowhere else in it, the copy is encoded by
// encoding/json (so field names, tags, omitempty and Marshaler methods all
// behave as usual), and the sentinel numbers become null.
package nanjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"unsafe"
)

// Marshal is json.Marshal, with non-finite floats written as null.
func Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	var unsupported *json.UnsupportedValueError
	if err == nil || !errors.As(err, &unsupported) || v == nil {
		return b, err
	}
	for i := range 64 {
		s := &scrubber{sentinel: -(1 + float64(i)/1024) / 65536}
		c, ok := s.copy(reflect.ValueOf(v), 0)
		if !ok {
			return nil, errCycle
		}
		if s.collided {
			continue
		}
		out, err := json.Marshal(c.Interface())
		if err != nil {
			return nil, err
		}
		return nullify(out, s.texts()), nil
	}
	return nil, err
}

// MarshalIndent is json.MarshalIndent, with non-finite floats written as
// null.
func MarshalIndent(v any, prefix, indent string) ([]byte, error) {
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, prefix, indent); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

var errCycle = errors.New("nanjson: unsupported value: encountered a cycle or values nested over 1000 deep")

// maxDepth bounds the copy's recursion: encoding/json reports a cycle
// after 1000 nested pointers, and so does Marshal.
const maxDepth = 1000

// scrubber copies a value with its non-finite floats replaced by sentinel,
// which is exact in float32 and float64.
type scrubber struct {
	sentinel float64
	collided bool // a finite float of the value prints as the sentinel
}

// texts are the sentinel as encoding/json prints it from a float64 and from
// a float32 (shortest round-trip digits differ between the two).
func (s *scrubber) texts() [2]string {
	return [2]string{strconv.FormatFloat(s.sentinel, 'f', -1, 64), strconv.FormatFloat(s.sentinel, 'f', -1, 32)}
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// encodesItself reports whether values of type t choose their own JSON,
// which may not print a sentinel as encoding/json would: they are left as
// they are, non-finite floats included.
func encodesItself(t reflect.Type) bool {
	for _, m := range []reflect.Type{marshalerType, textMarshalerType} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return true
		}
	}
	return false
}

func (s *scrubber) copy(v reflect.Value, depth int) (reflect.Value, bool) {
	if depth > maxDepth {
		return v, false
	}
	depth++
	if k := v.Kind(); k != reflect.Pointer && k != reflect.Interface && k != reflect.Invalid && encodesItself(v.Type()) {
		return v, true
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			bits := 64
			if v.Kind() == reflect.Float32 {
				bits = 32
			}
			if t := strconv.FormatFloat(f, 'f', -1, bits); t == s.texts()[0] || t == s.texts()[1] {
				s.collided = true
			}
			return v, true
		}
		c := reflect.New(v.Type()).Elem()
		c.SetFloat(s.sentinel)
		return c, true
	case reflect.Pointer:
		if v.IsNil() {
			return v, true
		}
		e, ok := s.copy(v.Elem(), depth)
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(e)
		return c, ok
	case reflect.Interface:
		if v.IsNil() {
			return v, true
		}
		e, ok := s.copy(v.Elem(), depth)
		c := reflect.New(v.Type()).Elem()
		c.Set(e)
		return c, ok
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		for i := range v.NumField() {
			sf, field := v.Type().Field(i), c.Field(i)
			switch {
			case sf.IsExported():
			case sf.Anonymous && sf.Type.Kind() == reflect.Struct:
				// encoding/json encodes the exported fields of an
				// unexported embedded struct as the outer struct's.
				field = reflect.NewAt(sf.Type, unsafe.Pointer(field.UnsafeAddr())).Elem()
			default:
				continue // encoding/json does not see it either
			}
			f, ok := s.copy(field, depth)
			if !ok {
				return v, false
			}
			field.Set(f)
		}
		return c, true
	case reflect.Map:
		if v.IsNil() {
			return v, true
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			e, ok := s.copy(it.Value(), depth)
			if !ok {
				return v, false
			}
			c.SetMapIndex(it.Key(), e)
		}
		return c, true
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() || !mayHoldFloats(v.Type().Elem(), map[reflect.Type]bool{}) {
			return v, true
		}
		var c reflect.Value
		if v.Kind() == reflect.Slice {
			c = reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		} else {
			c = reflect.New(v.Type()).Elem()
		}
		for i := range v.Len() {
			e, ok := s.copy(v.Index(i), depth)
			if !ok {
				return v, false
			}
			c.Index(i).Set(e)
		}
		return c, true
	}
	return v, true
}

// mayHoldFloats reports whether a value of type t can hold a float, so that
// slices of bytes, ints or strings are not copied element by element.
func mayHoldFloats(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // already being looked at further up
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return mayHoldFloats(t.Elem(), seen)
	case reflect.Map:
		return mayHoldFloats(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() && mayHoldFloats(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// nullify replaces each number token of the JSON text b that is one of the
// sentinel texts by null, leaving strings alone.
func nullify(b []byte, sentinels [2]string) []byte {
	var out bytes.Buffer
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '-' && (i == 0 || !isNumberByte(b[i-1])):
			end := i + 1
			for end < len(b) && isNumberByte(b[end]) {
				end++
			}
			if tok := string(b[i:end]); tok == sentinels[0] || tok == sentinels[1] {
				out.WriteString("null")
				i = end - 1
				continue
			}
		}
		out.WriteByte(c)
	}
	return out.Bytes()
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'
}
