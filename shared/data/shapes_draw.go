package data

import (
	"math"
	"math/rand/v2"
)

// Rendering of the shapes dataset. Every outline is a signed distance
// function (negative inside) in the shape's own frame, where the shape fits
// in the unit disc with y pointing up. Anti-aliasing takes a pixel's coverage
// as 0.5 minus its centre's signed distance in pixels, clamped to [0,1]: one
// distance per pixel instead of many supersamples, and the mask (coverage
// >= 0.5) is exactly the set of pixel centres inside the outline.
//
// The pixels must be the same on every platform, so this file uses only
// +, -, *, /, math.Sqrt, Floor, Ceil and Abs, which IEEE 754 and Go define
// exactly; no trigonometry (Go's math.Sin is itself compiled differently
// where fused multiply-add exists), and every product that feeds a sum is
// wrapped in float64(...): the Go spec lets a compiler fuse x*y+z into one
// instruction (arm64 does) unless an explicit conversion rounds x*y first.

// Generation parameters, as fractions of the image side unless noted.
const (
	minObjectScale = 0.28 // radius of the object's unit disc
	maxObjectScale = 0.38
	maxAspect      = 1.12 // the shape's x axis is stretched by a in [1/maxAspect, maxAspect], y by 1/a
	minContrast    = 0.3  // RGB distance between object and background colours
	maxShade       = 0.08 // RGB change of the object colour across its radius

	minStrokeHalfWidth = 0.3 / 32 // lines and arcs: 0.6 to 1.3 px wide at 32x32
	maxStrokeHalfWidth = 0.65 / 32
	minDotRadius       = 0.025 // dots: at most a quarter of the smallest object's radius
	maxDotRadius       = 0.055
	maxNoise           = 0.04 // standard deviation of the pixel noise (absolute)
)

// Slopes (tangents) that bound random turns, written out so that no
// platform's trigonometry enters the images.
const (
	anyTurn   = math.MaxFloat64
	tan20     = 0.36397023426620234 // tan(20°)
	tan30     = 0.5773502691896257  // tan(30°)
	tanArcDev = 0.4227932187381618  // tan(0.4 rad): arc apertures deviate from the middle by this angle
	cosArcMid = 0.6967067093471654  // cos(0.8 rad), the middle arc aperture
	sinArcMid = 0.7173560908995228  // sin(0.8 rad)
)

type vec2 struct{ x, y float64 }

func (a vec2) add(b vec2) vec2      { return vec2{a.x + b.x, a.y + b.y} }
func (a vec2) sub(b vec2) vec2      { return vec2{a.x - b.x, a.y - b.y} }
func (a vec2) scale(k float64) vec2 { return vec2{float64(a.x * k), float64(a.y * k)} }
func (a vec2) dot(b vec2) float64   { return float64(a.x*b.x) + float64(a.y*b.y) }
func (a vec2) cross(b vec2) float64 { return float64(a.x*b.y) - float64(a.y*b.x) }
func (a vec2) norm() float64        { return math.Sqrt(a.dot(a)) }

// rotate turns a by the angle whose (cos, sin) is r; unrotate turns it back.
func (a vec2) rotate(r vec2) vec2 {
	return vec2{float64(r.x*a.x) - float64(r.y*a.y), float64(r.y*a.x) + float64(r.x*a.y)}
}
func (a vec2) unrotate(r vec2) vec2 { return vec2{r.dot(a), r.cross(a)} }

func lerp(a, b, t float64) float64                   { return a + float64(t*(b-a)) }
func uniform(rng *rand.Rand, lo, hi float64) float64 { return lerp(lo, hi, rng.Float64()) }

// Polygonal outlines, all within the unit disc (TestShapesOutlinesFitTheUnitDisc).
var (
	squareOutline   = []vec2{{-0.7, -0.7}, {0.7, -0.7}, {0.7, 0.7}, {-0.7, 0.7}}
	triangleOutline = []vec2{{0, 1}, {-0.866, -0.5}, {0.866, -0.5}}
	diamondOutline  = []vec2{{0, 0.98}, {0.55, 0}, {0, -0.98}, {-0.55, 0}}
	plusOutline     = []vec2{
		{-0.3, -0.94}, {0.3, -0.94}, {0.3, -0.3}, {0.94, -0.3}, {0.94, 0.3}, {0.3, 0.3},
		{0.3, 0.94}, {-0.3, 0.94}, {-0.3, 0.3}, {-0.94, 0.3}, {-0.94, -0.3}, {-0.3, -0.3},
	}
	arrowOutline = []vec2{
		{-0.95, -0.2}, {0.1, -0.2}, {0.1, -0.62}, {0.95, 0}, {0.1, 0.62}, {0.1, 0.2}, {-0.95, 0.2},
	}
	// Five points of radius 0.98, notches of radius 0.44.
	starOutline = []vec2{
		{0, 0.98}, {-0.2586, 0.3560}, {-0.9320, 0.3028}, {-0.4185, -0.1360}, {-0.5760, -0.7928},
		{0, -0.44}, {0.5760, -0.7928}, {0.4185, -0.1360}, {0.9320, 0.3028}, {0.2586, 0.3560},
	}
	// The heart is a square standing on a corner with a disc on the middle
	// of each upper side, the discs' diameter the square's side.
	heartOutline = []vec2{{0, -0.804}, {0.7285, -0.0754}, {0, 0.6531}, {-0.7285, -0.0754}}
	heartLobe    = vec2{0.3643, 0.2888}
)

const heartLobeRadius = 0.5151

// polygonDistance is the signed distance from p to a closed polygon, after
// Quílez, "2D distance functions" (iquilezles.org): the distance to the
// nearest edge, negated when a crossing count finds p inside.
func polygonDistance(p vec2, v []vec2) float64 {
	d := p.sub(v[0]).dot(p.sub(v[0]))
	sign := 1.0
	for i, j := 0, len(v)-1; i < len(v); j, i = i, i+1 {
		e, w := v[j].sub(v[i]), p.sub(v[i])
		b := w.sub(e.scale(clamp01(w.dot(e) / e.dot(e))))
		d = min(d, b.dot(b))
		c1, c2, c3 := p.y >= v[i].y, p.y < v[j].y, e.cross(w) > 0
		if (c1 && c2 && c3) || (!c1 && !c2 && !c3) {
			sign = -sign
		}
	}
	return sign * math.Sqrt(d)
}

// shapeDistance is the signed distance from p to the outline of class k, in
// the shape's frame. Unions take the minimum of distances, cuts the maximum
// with a negated distance: exact outside, close enough inside for
// anti-aliasing.
func shapeDistance(k int, p vec2) float64 {
	switch k {
	case 0: // circle
		return p.norm() - 0.92
	case 1:
		return polygonDistance(p, squareOutline)
	case 2:
		return polygonDistance(p, triangleOutline)
	case 3:
		return polygonDistance(p, starOutline)
	case 4:
		return polygonDistance(p, plusOutline)
	case 5: // ring: a band of radii [0.54, 0.94]
		return math.Abs(p.norm()-0.74) - 0.2
	case 6:
		return polygonDistance(p, diamondOutline)
	case 7: // crescent: a disc with an off-centre disc cut away
		return max(p.norm()-0.94, 0.77-p.sub(vec2{0.43, 0}).norm())
	case 8:
		return polygonDistance(p, arrowOutline)
	default:
		lobes := min(p.sub(heartLobe).norm(), p.sub(vec2{-heartLobe.x, heartLobe.y}).norm()) - heartLobeRadius
		return min(lobes, polygonDistance(p, heartOutline))
	}
}

// maxTurnSlope bounds the rotation of each class, as the tangent of the
// largest angle: the classes whose identity depends on orientation (a square
// turned by 45 degrees reads as a diamond) turn less; the others turn
// freely.
var maxTurnSlope = [len(shapesClasses)]float64{
	anyTurn, tan20, anyTurn, anyTurn, anyTurn,
	anyTurn, tan20, anyTurn, anyTurn, tan30,
}

// object is the placed foreground shape.
type object struct {
	class    int
	centre   vec2    // pixels
	turn     vec2    // (cos, sin) of the rotation
	sx, sy   float64 // pixels per shape unit along the shape's x and y
	unit     float64 // converts shape distances to pixels
	reach    float64 // radius in pixels of a disc holding the object
	colour   [3]float64
	shade    [3]float64 // colour change per shape unit along shadeDir
	shadeDir vec2
}

// frame maps a pixel-space point to the shape's frame (y up).
func (o *object) frame(q vec2) vec2 {
	d := q.sub(o.centre)
	d = vec2{d.x, -d.y}.unrotate(o.turn)
	return vec2{d.x / o.sx, d.y / o.sy}
}

// stroke is a distractor: a line segment, a circular arc or a dot.
type stroke struct {
	kind   int // strokeLine, strokeArc or strokeDot
	a, b   vec2
	centre vec2
	radius float64
	turn   vec2    // arc: (cos, sin) of the rotation of its axis of symmetry from +y
	ap     vec2    // arc: (sin, cos) of half its aperture, as in Quílez's formula
	half   float64 // half width of lines and arcs
	colour [3]float64
	alpha  float64
}

const (
	strokeLine = iota
	strokeArc
	strokeDot
)

// distance is the signed distance in pixels from q to the stroke.
func (s *stroke) distance(q vec2) float64 {
	switch s.kind {
	case strokeLine:
		e, w := s.b.sub(s.a), q.sub(s.a)
		return w.sub(e.scale(clamp01(w.dot(e)/e.dot(e)))).norm() - s.half
	case strokeArc:
		// Quílez's arc distance, in the frame where the arc is symmetric about +y.
		p := q.sub(s.centre).unrotate(s.turn)
		p.x = math.Abs(p.x)
		if float64(s.ap.y*p.x) > float64(s.ap.x*p.y) {
			return p.sub(s.ap.scale(s.radius)).norm() - s.half
		}
		return math.Abs(p.norm()-s.radius) - s.half
	default:
		return q.sub(s.centre).norm() - s.radius
	}
}

// extent is a radius around a centre outside which the stroke has no ink.
func (s *stroke) extent() (vec2, float64) {
	switch s.kind {
	case strokeLine:
		return s.a.add(s.b).scale(0.5), float64(0.5*s.b.sub(s.a).norm()) + s.half
	case strokeArc:
		return s.centre, s.radius + s.half
	default:
		return s.centre, s.radius
	}
}

// canvas is one worker's scratch image in float64 RGB.
type canvas struct {
	size int
	rgb  []float64
}

func newCanvas(size int) *canvas {
	return &canvas{size: size, rgb: make([]float64, size*size*3)}
}

// draw renders image i into img (HWC) and mask and returns its label and box.
//
// The scene (background, object), the distractors and the pixel noise draw
// from separate random streams, so the same scene appears at every Size and
// every Clutter level, and only the distractors change with Clutter.
func (p shapesParams) draw(c *canvas, i int, img []float32, mask []uint8) (int, Box) {
	scene := p.source(i, 1)
	label := i % len(shapesClasses)
	size := float64(p.size)

	// Background: a colour ramp from a to b, indexed by a texture in [0,1].
	a := randColour(scene)
	b := randColour(scene)
	mix := uniform(scene, 0.2, 0.8)
	for ch := range b {
		b[ch] = lerp(a[ch], b[ch], mix)
	}
	c.background(scene, a, b)

	// The object's colour keeps minContrast from every ramp colour. About
	// half the cube qualifies even for the worst ramp, the cube's diagonal,
	// so 64 draws all failing (then the best is kept) has odds near 2^-64.
	obj := object{class: label}
	best := -1.0
	for try := 0; try < 64 && best < minContrast; try++ {
		col := randColour(scene)
		if d := segmentDistance3(col, a, b); d > best {
			best, obj.colour = d, col
		}
	}
	scale := float64(uniform(scene, minObjectScale, maxObjectScale) * size)
	aspect := uniform(scene, 1/maxAspect, maxAspect)
	obj.sx, obj.sy = float64(scale*aspect), scale/aspect
	obj.unit = scale
	obj.reach = float64(scale * max(aspect, 1/aspect))
	obj.turn = randTurn(scene, maxTurnSlope[label])
	room := size - float64(2*obj.reach) - 1
	obj.centre = vec2{
		obj.reach + 0.5 + float64(room*scene.Float64()),
		obj.reach + 0.5 + float64(room*scene.Float64()),
	}
	obj.shadeDir = randTurn(scene, anyTurn)
	for ch := range obj.shade {
		obj.shade[ch] = uniform(scene, -maxShade, maxShade) / math.Sqrt(3)
	}

	// Distractors go behind the object so its silhouette stays whole.
	clutter := p.source(i, 2)
	lo, hi := int(float64(4*p.clutter)+0.5), int(float64(16*p.clutter)+0.5)
	for n := lo + clutter.IntN(hi-lo+1); n > 0; n-- {
		s := randStroke(clutter, size, obj.colour)
		c.paint(&s)
	}
	box := c.paintObject(&obj, mask)

	// Sensor noise of a triangular distribution (the sum of two uniforms,
	// from the two halves of one 64-bit draw) with a random deviation.
	noise := p.source(i, 3)
	sigma := float64(maxNoise*noise.Float64()) * math.Sqrt(6) / (1 << 32)
	for k, v := range c.rgb {
		r := noise.Uint64()
		v += float64(sigma * (float64(r>>32) + float64(r&(1<<32-1)) - (1<<32 - 1)))
		img[k] = float32(clamp01(v))
	}
	return label, box
}

// background fills the canvas with the ramp a..b indexed by a random mix of
// a linear gradient, two octaves of value noise and, half the time, stripes.
func (c *canvas) background(rng *rand.Rand, a, b [3]float64) {
	n, size := c.size, float64(c.size)
	grad := randTurn(rng, anyTurn).scale(1.2 * rng.Float64())
	coarse := newValueNoise(rng, 4, rng.Float64())
	fine := newValueNoise(rng, 9, 0.6*rng.Float64())
	var stripeAmp, stripePhase float64
	var stripes vec2 // periods per image side along x and y
	if rng.IntN(2) == 0 {
		stripeAmp = uniform(rng, 0.15, 0.5)
		stripes = randTurn(rng, anyTurn).scale(uniform(rng, 1.5, 5))
		stripePhase = rng.Float64()
	}
	for y := range n {
		v := (float64(y) + 0.5) / size
		for x := range n {
			u := (float64(x) + 0.5) / size
			t := 0.5 + grad.dot(vec2{u - 0.5, v - 0.5}) + coarse.at(u, v) + fine.at(u, v)
			if stripeAmp > 0 {
				f := stripes.dot(vec2{u, v}) + stripePhase
				f -= math.Floor(f)
				t += float64(stripeAmp * (float64(4*math.Abs(f-0.5)) - 1)) // triangle wave in [-1, 1]
			}
			t = clamp01(t)
			k := 3 * (y*n + x)
			for ch := range 3 {
				c.rgb[k+ch] = lerp(a[ch], b[ch], t)
			}
		}
	}
}

// paint blends a distractor over the canvas.
func (c *canvas) paint(s *stroke) {
	centre, r := s.extent()
	x0, x1, y0, y1 := c.window(centre, r+1)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			cover := float64(clamp01(0.5-s.distance(vec2{float64(x) + 0.5, float64(y) + 0.5})) * s.alpha)
			if cover > 0 {
				c.blend(3*(y*c.size+x), s.colour, cover)
			}
		}
	}
}

// paintObject blends the object over the canvas, writes its mask and returns
// the mask's tight box.
func (c *canvas) paintObject(o *object, mask []uint8) Box {
	clear(mask)
	n := c.size
	x0, x1, y0, y1 := c.window(o.centre, o.reach+1)
	bx0, by0, bx1, by1 := n, n, 0, 0
	// Points beyond the unit disc by more than half a pixel get no ink.
	outside := 1 + 0.5/min(o.sx, o.sy)
	outside = float64(outside * outside)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			p := o.frame(vec2{float64(x) + 0.5, float64(y) + 0.5})
			if p.dot(p) > outside {
				continue
			}
			d := float64(shapeDistance(o.class, p) * o.unit)
			cover := clamp01(0.5 - d)
			if cover == 0 {
				continue
			}
			t := p.dot(o.shadeDir)
			col := [3]float64{
				o.colour[0] + float64(t*o.shade[0]),
				o.colour[1] + float64(t*o.shade[1]),
				o.colour[2] + float64(t*o.shade[2]),
			}
			c.blend(3*(y*n+x), col, cover)
			if d <= 0 {
				mask[y*n+x] = 1
				bx0, by0 = min(bx0, x), min(by0, y)
				bx1, by1 = max(bx1, x+1), max(by1, y+1)
			}
		}
	}
	return Box{float64(bx0), float64(by0), float64(bx1), float64(by1)}
}

// window clips the square of half side r around centre to the canvas.
func (c *canvas) window(centre vec2, r float64) (x0, x1, y0, y1 int) {
	n := float64(c.size)
	x0 = int(max(0, math.Floor(centre.x-r)))
	y0 = int(max(0, math.Floor(centre.y-r)))
	x1 = int(min(n, math.Ceil(centre.x+r)))
	y1 = int(min(n, math.Ceil(centre.y+r)))
	return x0, max(x0, x1), y0, max(y0, y1)
}

func (c *canvas) blend(k int, col [3]float64, alpha float64) {
	for ch := range 3 {
		c.rgb[k+ch] = lerp(c.rgb[k+ch], col[ch], alpha)
	}
}

// randStroke draws a distractor whose colour keeps minContrast from the
// object's, so a stroke touching the object never extends its silhouette.
func randStroke(rng *rand.Rand, size float64, objColour [3]float64) stroke {
	s := stroke{kind: rng.IntN(3), alpha: uniform(rng, 0.6, 1)}
	best := -1.0
	for try := 0; try < 16 && best < minContrast; try++ {
		col := randColour(rng)
		if d := distance3(col, objColour); d > best {
			best, s.colour = d, col
		}
	}
	s.half = float64(uniform(rng, minStrokeHalfWidth, maxStrokeHalfWidth) * size)
	centre := vec2{float64(size * rng.Float64()), float64(size * rng.Float64())}
	switch s.kind {
	case strokeLine:
		half := randTurn(rng, anyTurn).scale(float64(uniform(rng, 0.05, 0.4) * size))
		s.a, s.b = centre.sub(half), centre.add(half)
	case strokeArc:
		s.centre = centre
		s.radius = float64(uniform(rng, 0.08, 0.22) * size)
		s.turn = randTurn(rng, anyTurn)
		// Half apertures of 0.4 to 1.2 rad: 46 to 137 degrees of arc.
		h := randTurn(rng, tanArcDev).rotate(vec2{cosArcMid, sinArcMid})
		s.ap = vec2{h.y, h.x}
	default:
		s.centre = centre
		s.radius = float64(uniform(rng, minDotRadius, maxDotRadius) * size)
	}
	return s
}

// randTurn returns (cos θ, sin θ) for θ uniform in [-atan(maxSlope),
// atan(maxSlope)] (maxSlope <= 1), or over the whole circle for anyTurn, by
// rejection sampling of a point in that sector of the unit disc: no
// trigonometry, so no platform differences.
func randTurn(rng *rand.Rand, maxSlope float64) vec2 {
	for {
		var p vec2
		if maxSlope == anyTurn {
			p = vec2{uniform(rng, -1, 1), uniform(rng, -1, 1)}
		} else {
			p = vec2{rng.Float64(), float64(maxSlope * uniform(rng, -1, 1))}
			if math.Abs(p.y) > float64(maxSlope*p.x) {
				continue
			}
		}
		if r2 := p.dot(p); r2 > 1e-6 && r2 <= 1 {
			return p.scale(1 / math.Sqrt(r2))
		}
	}
}

// valueNoise is bilinear, smoothstep-weighted interpolation of random values
// on a cells x cells grid spanning the unit square, in [-amp/2, amp/2].
type valueNoise struct {
	cells int
	grid  []float64
}

func newValueNoise(rng *rand.Rand, cells int, amp float64) valueNoise {
	g := make([]float64, (cells+1)*(cells+1))
	for k := range g {
		g[k] = uniform(rng, -0.5*amp, 0.5*amp)
	}
	return valueNoise{cells: cells, grid: g}
}

func (v valueNoise) at(x, y float64) float64 {
	fx, fy := float64(x*float64(v.cells)), float64(y*float64(v.cells))
	ix, iy := min(int(fx), v.cells-1), min(int(fy), v.cells-1)
	fx, fy = smoothstep(fx-float64(ix)), smoothstep(fy-float64(iy))
	w := v.cells + 1
	top := lerp(v.grid[iy*w+ix], v.grid[iy*w+ix+1], fx)
	bottom := lerp(v.grid[(iy+1)*w+ix], v.grid[(iy+1)*w+ix+1], fx)
	return lerp(top, bottom, fy)
}

func smoothstep(t float64) float64 { return float64(t*t) * (3 - float64(2*t)) }

// clamp01 clamps x to [0,1]; plain comparisons are several times cheaper
// than the builtin min and max, which order NaNs and signed zeros.
func clamp01(x float64) float64 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

func randColour(rng *rand.Rand) [3]float64 {
	return [3]float64{rng.Float64(), rng.Float64(), rng.Float64()}
}

func distance3(a, b [3]float64) float64 {
	d0, d1, d2 := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return math.Sqrt(float64(d0*d0) + float64(d1*d1) + float64(d2*d2))
}

// segmentDistance3 is the distance from p to the segment a..b in RGB space.
func segmentDistance3(p, a, b [3]float64) float64 {
	var e, w [3]float64
	ee, we := 0.0, 0.0
	for ch := range 3 {
		e[ch], w[ch] = b[ch]-a[ch], p[ch]-a[ch]
		ee += float64(e[ch] * e[ch])
		we += float64(w[ch] * e[ch])
	}
	t := 0.0
	if ee > 0 {
		t = clamp01(we / ee)
	}
	return distance3(p, [3]float64{lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)})
}
