package main

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"
)

// series is one line of the attack chart.
type series struct {
	Label  string
	Color  string
	Dashed bool
	// Y holds one value per step; NaN leaves a gap.
	Y []float64
}

// chartSVG draws the metrics of an attack over its steps (x from 0 to
// steps, y from min(0, lowest value) to 1) as a self-contained SVG.
func chartSVG(lines []series, steps int) string {
	const w, h, left, right, top, bottom = 420.0, 220.0, 36.0, 10.0, 10.0, 54.0
	steps = max(steps, 1)
	lo := 0.0
	for _, s := range lines {
		for _, y := range s.Y {
			if !math.IsNaN(y) {
				lo = min(lo, math.Floor(y*4)/4)
			}
		}
	}
	px := func(i int) float64 { return left + (w-left-right)*float64(i)/float64(steps) }
	py := func(y float64) float64 { return top + (h-top-bottom)*(1-(y-lo)/(1-lo)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="10">`, w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="white"/>`, w, h)
	for y := lo; y <= 1.0001; y += 0.25 {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%g" y="%.1f" text-anchor="end">%.2f</text>`,
			left, w-right, py(y), py(y), left-4, py(y)+3, y)
	}
	tick := max(1, steps/10)
	for i := 0; i <= steps; i += tick {
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle">%d</text>`, px(i), h-bottom+12, i)
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">attack step</text>`, (left+w-right)/2, h-bottom+24)
	for k, s := range lines {
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="5 3"`
		}
		var d strings.Builder
		pen := "M"
		for i, y := range s.Y {
			if math.IsNaN(y) {
				pen = "M"
				continue
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", pen, px(i), py(y))
			pen = "L"
		}
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, strings.TrimSpace(d.String()), s.Color, dash)
		}
		// Legend: one row per model, top-k then Kendall.
		lx, ly := left+float64(k%2)*190, h-16+float64(k/2)*12
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%g" y2="%g" stroke="%s" stroke-width="2"%s/><text x="%g" y="%g">%s</text>`,
			lx, lx+18, ly-3, ly-3, s.Color, dash, lx+22, ly, escapeXML(s.Label))
	}
	b.WriteString(`</svg>`)
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(b.String()))
}

func escapeXML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
