package nanjson

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

type inner struct {
	F32 float32 `json:"f32"`
}

type record struct {
	Name    string             `json:"name"`
	Loss    float64            `json:"loss"`
	Skip    float64            `json:"skip,omitempty"`
	Hidden  float64            `json:"-"`
	Ptr     *float64           `json:"ptr"`
	Any     any                `json:"any"`
	Map     map[string]float64 `json:"map"`
	List    []float64          `json:"list"`
	Arr     [2]float32         `json:"arr"`
	Bytes   []byte             `json:"bytes"`
	When    time.Time          `json:"when"`
	private float64
	inner
}

// Values with NaN or infinities encode as encoding/json would encode them
// with null in their place: tags, omitempty, embedded fields, pointers,
// interfaces, maps, slices and arrays, float32 and float64.
func TestMarshalWritesNonFiniteFloatsAsNull(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	r := record{Name: "a -0.0000152587890625 b", Loss: nan, Hidden: nan, Ptr: &inf, Any: []any{1.5, -inf},
		Map: map[string]float64{"x": nan, "y": 2}, List: []float64{1, nan, -0.5}, Arr: [2]float32{float32(nan), 0.25},
		Bytes: []byte("hi"), When: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), private: nan, inner: inner{F32: float32(inf)}}
	got, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"a -0.0000152587890625 b","loss":null,"ptr":null,"any":[1.5,null],"map":{"x":null,"y":2},` +
		`"list":[1,null,-0.5],"arr":[null,0.25],"bytes":"aGk=","when":"2024-01-02T03:04:05Z","f32":null}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if r.Loss == r.Loss || *r.Ptr != inf || !math.IsNaN(r.Map["x"]) {
		t.Error("Marshal changed the value it encoded")
	}
	ind, err := MarshalIndent(map[string]float64{"a": nan}, "", "  ")
	if err != nil || string(ind) != "{\n  \"a\": null\n}" {
		t.Errorf("MarshalIndent: %q, %v", ind, err)
	}
}

// Finite values encode byte for byte as encoding/json encodes them, the
// sentinel's own value included (another sentinel is then chosen).
func TestMarshalOfFiniteValuesIsEncodingJSONs(t *testing.T) {
	for _, v := range []any{
		record{Name: "x", Loss: 1e-7, List: []float64{-0.0000152587890625}},
		map[string]any{"s": -0.0000152587890625, "t": float32(-0.0000152587890625), "n": nil},
		[]float64{}, nil, 3.5, "NaN",
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Marshal(v)
		if err != nil || string(got) != string(want) {
			t.Errorf("%#v: %s, %v; want %s", v, got, err, want)
		}
	}
	got, err := Marshal([]float64{-0.0000152587890625, math.NaN(), float64(float32(-0.0000152587890625))})
	if err != nil || string(got) != "[-0.0000152587890625,null,-0.0000152587890625]" {
		t.Errorf("a value equal to the first sentinel: %s, %v", got, err)
	}
}

// A cycle is refused, as encoding/json refuses it, rather than recursed
// into forever.
func TestMarshalRefusesACycle(t *testing.T) {
	type node struct {
		V    float64
		Next *node
	}
	n := &node{V: math.NaN()}
	n.Next = n
	if _, err := Marshal(n); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a cycle: %v", err)
	}
}
