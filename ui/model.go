package ui

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/list"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/allocviz/allocviz/scripts"
)

// Options configure the interface.
type Options struct {
	Scenario string             // scenario name or script path to open; "" opens scripts.DefaultScenario
	Script   scripts.Options    // machine flags and step limit; a script's config() overrides them
	Palette  Palette            // colours
	Renderer *lipgloss.Renderer // the output's renderer (its colour profile and background); nil: lipgloss's default, the process's terminal
	Debug    bool               // log unhandled messages (to tea.LogToFile's file)
	Quiz     bool               // stop at each ask() for an answer (quiz.go)
	// Step is the step to show when the scenario has opened (--step);
	// past the last step, the last.
	Step int
	// Presenter starts in the presenter layout (--presenter).
	Presenter bool
	// PromptSteps caps the allocator steps of one statement typed at the
	// prompt; 0 means scripts.DefaultPromptSteps.
	PromptSteps int
	// Flags are the config() settings the command line gave ("ram",
	// "cpus"), so the interface can say when the script overrides one.
	Flags []string
	// Context ends when the program is to stop (ctrl+c, a signal): a
	// script loading or a statement running then stops within moments.
	// nil means it never ends.
	Context context.Context
}

// context returns the context scripts run under.
func (o Options) context() context.Context {
	if o.Context == nil {
		return context.Background()
	}
	return o.Context
}

// MinWidth and MinHeight are the smallest terminal the interface draws
// in; below it shows a "terminal too small" screen.
const (
	MinWidth  = 80
	MinHeight = 24
)

// mode says what has the keyboard.
type mode uint8

// Modes.
const (
	modeStep    mode = iota // keys step, play and move between panes
	modeInspect             // arrows move the inspector cursor
	modePrompt              // the statement prompt has the keyboard
	modeJump                // the go-to input has the keyboard
	modeSearch              // the search input has the keyboard
	modeCross               // the timeline's threshold input has the keyboard
	modePicker              // the scenario picker has the keyboard
)

var modeNames = [...]string{"step", "inspect", "prompt", "jump", "search", "cross", "picker"}

func (m mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "unknown"
}

// paneID names the boxes of the layout: the focusable panes in tab
// order (numPanes of them), then the inspector and the Why strip, which
// are not in the tab order.
type paneID uint8

// Panes.
const (
	panePages paneID = iota
	paneSlabs
	paneVmalloc
	paneRealloc
	paneEvents
	paneTimeline
	paneInspector
	paneWhy
	numSlots
)

// numPanes is how many panes tab goes through.
const numPanes = paneInspector

var paneNames = [numSlots]string{"Pages", "Slabs", "vmalloc", "Realloc", "Events", "Timeline", "Inspector", "Why"}

func (p paneID) String() string {
	if p < numSlots {
		return paneNames[p]
	}
	return "unknown"
}

// speeds are the replay intervals, slowest first; speedMax is the last.
var speeds = [...]time.Duration{
	2 * time.Second, time.Second, 500 * time.Millisecond, 250 * time.Millisecond,
	100 * time.Millisecond, 50 * time.Millisecond, 16 * time.Millisecond,
}

// defaultSpeed is the index into speeds that play starts with.
const defaultSpeed = 2

// Model is the root of the interface. All its state changes in Update.
type Model struct {
	opts    Options
	styles  Styles
	keys    keyMap
	help    help.Model
	helpTop int // lines of the full help scrolled past
	// moreHelp is help the interface's host adds after the key map's
	// groups: a room's own keys (RoomModel).
	moreHelp []helpGroup

	width, height int  // terminal size in cells
	ready         bool // a size has arrived

	src     *source      // the session shown; nil until the first load
	name    string       // the scenario's name or path
	step    int          // the step shown, 0..src.steps()
	marks   []bookmark   // bookmarked steps, ascending
	diff    int          // the step changes are counted from (d); -1: the step before, as usual
	diffSum string       // what changed since diff, for the status bar
	loadID  int          // the latest load request; older answers are dropped
	ahead   []tea.KeyMsg // keys typed while the first lesson opened, pressed once it is (typedAhead)
	loading string       // what is being loaded, "" when idle
	loadErr error        // the last load's failure, shown until the next load
	started bool         // the first scenario has opened (at Options.Step)
	live    bool         // the script shown is still running (source.live)

	// A continuation rebuilds from the session shown, reading it off the
	// event loop; that session is not closed until the rebuild answers.
	rebuildFrom *source // the session being rebuilt from; nil when no rebuild is under way
	rebuildID   int     // the load request of that rebuild
	orphan      bool    // rebuildFrom is no longer shown: close it when the rebuild answers

	running *running // the statement running off the event loop; nil when none
	runID   int      // the last statement run
	stepCap int      // the step cap %steps set; 0: Options.PromptSteps or the default

	playing bool
	speed   int // index into speeds
	playGen int // generation of the armed tick; see playTickMsg

	mode      mode
	focus     paneID
	presenter bool // the presenter layout: the page map, the pane the step is about, a tall Why strip
	whyOpen   bool // the Why strip is expanded (w)

	prompt      promptModel
	jump        textinput.Model
	jumpErr     string
	search      textinput.Model
	found       string // what the search found, or why it found nothing
	cross       textinput.Model
	crossed     string // where the series crossed the value typed, or why it did not
	picker      list.Model
	pickConfirm string // the question before opening drops typed statements; "" when none is asked

	notice    string // one line under the panes: what just happened
	noticeErr bool   // the notice reports an error

	lay     layout    // pane sizes, computed in Update
	stale   bool      // the panes hold what they showed before a statement began running (refresh)
	machine [2]string // the machine and its free memory, long and short, for the status bar
	legend  string    // the legend at this width, built in Update

	cells     *spanStyler // styles heapview's spans; shared by copies of the model, used only on the event loop
	frames    framer      // draws pane frames
	pages     pagesPane
	slabs     slabsPane
	vm        vmallocPane
	realloc   reallocPane
	events    eventsPane
	inspector inspectorPane
	why       textPane // the Why strip: the step, its narration and why it did what it did

	quiz quizState     // quiz.go
	tl   timelineState // timeline.go
}

// pane returns the box p's pane.
func (m *Model) pane(p paneID) *textPane {
	switch p {
	case panePages:
		return &m.pages.textPane
	case paneSlabs:
		return &m.slabs.textPane
	case paneVmalloc:
		return &m.vm.textPane
	case paneRealloc:
		return &m.realloc.textPane
	case paneEvents:
		return &m.events.textPane
	case paneInspector:
		return &m.inspector.textPane
	case paneTimeline:
		return &m.tl.textPane
	}
	return &m.why
}

// New returns the interface for opts. It does no I/O: the scenario is
// loaded by the command Init returns.
func New(opts Options) Model {
	if opts.Scenario == "" {
		opts.Scenario = scripts.DefaultScenario
	}
	// print() output is recorded by the session and shown with its step;
	// nothing may write to the terminal while the program runs.
	opts.Script.Print = nil
	st := StylesOn(cmp.Or(opts.Renderer, lipgloss.DefaultRenderer()), opts.Palette)
	m := Model{
		opts:      opts,
		styles:    st,
		keys:      DefaultKeyMap(),
		help:      newHelp(st),
		speed:     defaultSpeed,
		diff:      -1,
		presenter: opts.Presenter,
		prompt:    newPrompt(st),
		jump:      newJumpInput(st),
		search:    newSearchInput(st),
		cross:     newInput(st, "crosses: ", "a value of the timeline's series: 4M, 512K, 0.5, 12 pages", 40),
		picker:    newPicker(st),
	}
	m.cells = newSpanStyler(st)
	m.frames = newFramer(st)
	m.loadID = 1
	m.loading = "opening " + opts.Scenario
	m.syncKeys()
	return m
}

// Init starts loading the scenario New named (load request 1).
func (m Model) Init() tea.Cmd {
	return loadCmd(m.opts.context(), m.loadID, m.opts.Scenario, m.opts.Script)
}

func newHelp(st Styles) help.Model {
	h := help.New()
	h.Styles.ShortKey = st.Accent
	h.Styles.ShortDesc = st.Muted
	h.Styles.ShortSeparator = st.Subtle
	h.Styles.FullKey = st.Accent
	h.Styles.FullDesc = st.Muted
	h.Styles.FullSeparator = st.Subtle
	h.Styles.Ellipsis = st.Subtle
	return h
}

// newInput returns a text input of the interface's style.
func newInput(st Styles, prompt, placeholder string, limit int) textinput.Model {
	t := textinput.New()
	t.Prompt = prompt
	t.PromptStyle = st.Prompt
	t.TextStyle = st.Text
	t.Placeholder = placeholder
	t.PlaceholderStyle = st.Subtle
	t.CharLimit = limit
	return t
}

func newSearchInput(st Styles) textinput.Model {
	return newInput(st, "search: ", "text of an event, a call or a cache name", 80)
}

func newJumpInput(st Styles) textinput.Model {
	return newInput(st, "go to: ", "a step number, an address (0xffff888000102000) or a pfn (pfn 0x102)", 40)
}

// Close releases the machine of the session shown, once a statement
// still running on it has stopped. Call it after the program has finished
// with the model Run returned.
func (m Model) Close() {
	if r := m.running; r != nil {
		r.cancel(errors.New("the interface closed"))
		<-r.done
	}
	m.src.close()
}
