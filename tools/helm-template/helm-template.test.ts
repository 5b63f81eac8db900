/**
 * The helm-template stand-in against documented Helm behaviour (helm v3 docs and well-known
 * outputs): toYaml formatting, nindent, --set parsing, `default` with empty values, numbers from
 * values files, `required`/`fail` error text, schema errors, ordering and `# Source:` headers.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helmTemplate, helmTemplateOk, parseManifests, REPO_ROOT } from './helm-template.js';

const CHART = 'tools/helm-template/testdata/tricky';

function toolAvailable(): boolean {
  const helm = spawnSync('sh', ['-c', 'command -v helm || command -v go'], { encoding: 'utf8' });
  if (helm.status === 0) return true;
  if (process.env['CI'] === 'true') throw new Error('neither helm nor go is on PATH: CI needs one of them to render charts (apt-get install golang-go golang-github-masterminds-sprig-dev)');
  console.warn('skipping helm-template tests: neither helm nor go is on PATH');
  return false;
}
const run = toolAvailable() ? describe : describe.skip;

function data(args: readonly string[] = []): Record<string, string> {
  const m = parseManifests(helmTemplateOk(['rel', CHART, '-n', 'ns1', ...args], { standIn: true }));
  const cm = m.find((x) => x.object['kind'] === 'ConfigMap');
  return (cm!.object['data'] ?? {}) as Record<string, string>;
}

run('helm-template stand-in', () => {
  test('GIVEN a chart WHEN rendered THEN documents follow Helm install order with Source headers and no NOTES', () => {
    const out = helmTemplateOk(['rel', CHART], { standIn: true });
    const headers = [...out.matchAll(/^# Source: (.*)$/gm)].map((m) => m[1]);
    // Namespace sorts before ConfigMap before Deployment although configmap.yaml defines the Namespace second.
    expect(headers).toStrictEqual(['tricky/templates/configmap.yaml', 'tricky/templates/configmap.yaml', 'tricky/templates/deployment.yaml']);
    expect(out.startsWith('---\n# Source: tricky/templates/configmap.yaml\napiVersion: v1\nkind: Namespace\n')).toBe(true);
    expect(out).not.toContain('Never part of the output');
    expect(parseManifests(out).map((m) => m.object['kind'])).toStrictEqual(['Namespace', 'ConfigMap', 'Deployment']);
  });

  test('numbers from values files are float64 (1e+06), default treats "", false and 0 as empty, missing values print nothing', () => {
    const d = data();
    expect(d).toMatchObject({ big: '1e+06', ratio: '0.5', defaultEmpty: 'fallback', defaultFalse: 'fallback', defaultZero: 'fallback', missing: '' });
  });

  test('toYaml is sigs.k8s.io/yaml: sorted keys, unindented lists, quoted ambiguous strings, |- blocks; nindent re-indents', () => {
    expect(data()['yaml']).toBe('list:\n- a\n- b\nmap:\n  a: "true"\n  empty: ""\n  multi: |-\n    line1\n    line2\n  s: "0123"\n  z: 1\n');
    expect(data()['toJson']).toBe('{"a":"true","empty":"","multi":"line1\\nline2","s":"0123","z":1}');
  });

  test('--set parses Helm strvals: nested lists, {a,b} lists, typed ints/bools, leading zeros stay strings, escapes; --set-string keeps strings', () => {
    const set = JSON.parse(
      data(['--set', 'set.a[0].b=x,set.a[1]=y,set.l={p,007,3},set.n=10,set.z=007,set.t=true,set.e=a\\,b,set.k\\.dot=v,set.g[2]=g', '--set-string', 'set.s=true'])['set']!,
    ) as unknown;
    expect(set).toStrictEqual({ a: [{ b: 'x' }, 'y'], l: ['p', '007', 3], n: 10, z: '007', t: true, e: 'a,b', 'k.dot': 'v', g: [null, null, 'g'], s: 'true' });
    expect(data(['--set', 'big=1000000'])['big']).toBe('1000000');
  });

  test('a null in a values file deletes the chart default; later -f files override earlier ones; --set wins over -f', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ht-'));
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'removeMe: null\nkeep: from-a\n');
    fs.writeFileSync(path.join(dir, 'b.yaml'), 'keep: from-b\n');
    const d = data(['-f', path.join(dir, 'a.yaml'), '-f', path.join(dir, 'b.yaml')]);
    expect(d['removed']).toBe('false');
    expect(d['tpl']).toBe('rel-from-b');
    expect(data(['-f', path.join(dir, 'b.yaml'), '--set', 'keep=cli'])['tpl']).toBe('rel-cli');
    expect(data()['removed']).toBe('true');
  });

  test('built-in objects: .Release, .Chart, .Capabilities, .Template, .Files, lookup, fromYaml', () => {
    expect(data()).toMatchObject({
      release: 'rel/ns1/Helm/true/false/1',
      chart: 'tricky/1.2.3/9.9',
      caps: 'true/false/31',
      lookup: '0',
      template: 'tricky/templates/configmap.yaml',
      file: 'one',
      fromYaml: 'x',
      glob: 'a.txt: |\n  one\n',
    });
    expect(data(['--kube-version', '1.25.3', '--api-versions', 'example.com/v9', '--is-upgrade'])).toMatchObject({
      caps: 'true/true/25',
      release: 'rel/ns1/Helm/false/true/2',
    });
  });

  test('required and fail report like Helm: "Error: execution error at (file:line:col): message"', () => {
    const r = helmTemplate(['rel', CHART, '--set', 'requireIt.other=1'], { standIn: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^Error: execution error at \(tricky\/templates\/configmap\.yaml:\d+:\d+\): requireIt\.value is required: set it with --set requireIt\.value=x\n$/);
    const f = helmTemplate(['rel', CHART, '--set', 'failIt=true'], { standIn: true });
    expect(f.stderr).toMatch(/^Error: execution error at \(tricky\/templates\/configmap\.yaml:\d+:\d+\): failIt was set: remove it\n$/);
  });

  test('values.schema.json violations fail with Helm\'s header and one line per field', () => {
    const r = helmTemplate(['rel', CHART, '--set', 'mode=c,port=0,strict.y=1'], { standIn: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "Error: values don't meet the specifications of the schema(s) in the following chart(s):\ntricky:\n" +
        '- mode: mode must be one of the following: "a", "b"\n' +
        '- port: Must be greater than or equal to 1\n' +
        '- strict: Additional property y is not allowed\n' +
        '- strict: x is required\n',
    );
    expect(helmTemplate(['rel', CHART, '--set', 'port=abc'], { standIn: true }).stderr).toContain('- port: Invalid type. Expected: integer, given: string');
  });

  test('more documented functions: indent/nindent, toYaml of nil and lists, quote of numbers, required on "", --set-file and --set-json', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ht-fn-'));
    fs.mkdirSync(path.join(dir, 'templates'));
    fs.writeFileSync(path.join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: fn\nversion: 0.1.0\n');
    fs.writeFileSync(path.join(dir, 'values.yaml'), `list: [1, "two", true]\nempty: ""\nport: 8080\nlong: "${'word '.repeat(30).trim()}"\n`);
    fs.writeFileSync(
      path.join(dir, 'templates/cm.yaml'),
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: fn',
        'data:',
        '  nil: {{ toYaml .Values.missing | quote }}',
        '  list: {{ toYaml .Values.list | quote }}',
        '  port: {{ .Values.port | quote }}',
        '  indented: {{ "a\\nb" | indent 2 | quote }}',
        '  nindented: {{ "a\\nb" | nindent 2 | quote }}',
        '  file: {{ .Values.fromFile | quote }}',
        '  json: {{ toJson .Values.j | quote }}',
        '  long: {{ toYaml (dict "k" .Values.long) | quote }}',
        '{{- if .Values.needEmpty }}',
        '  req: {{ required "empty is required" .Values.empty }}',
        '{{- end }}',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'content.txt'), 'from a file\n');
    const out = parseManifests(helmTemplateOk(['fn', dir, '--set-file', `fromFile=${path.join(dir, 'content.txt')}`, '--set-json', 'j={"a":[1,{"b":null}]}'], { standIn: true }));
    expect(out[0]!.object['data']).toStrictEqual({
      nil: 'null',
      list: '- 1\n- two\n- true',
      port: '8080',
      indented: '  a\n  b',
      nindented: '\n  a\n  b',
      file: 'from a file\n',
      json: '{"a":[1,{"b":null}]}',
      // goyaml.v2 2.4 (what sigs.k8s.io/yaml uses) folds long plain scalars at 80 columns.
      long: `k: ${'word '.repeat(16).trim()}\n  ${'word '.repeat(14).trim()}`,
    });
    expect(helmTemplate(['fn', dir, '--set', 'needEmpty=true'], { standIn: true }).stderr).toMatch(/execution error at \(fn\/templates\/cm\.yaml:15:\d+\): empty is required/);
  });

  test('cases from Helm\'s own engine tests render identically', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ht-engine-'));
    fs.mkdirSync(path.join(dir, 'templates'));
    fs.writeFileSync(path.join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: moby\nversion: 1.2.3\n');
    fs.writeFileSync(path.join(dir, 'author'), 'Virgil');
    fs.writeFileSync(
      path.join(dir, 'values.yaml'),
      [
        'outer: spouter',
        'inner: inn',
        'partialText: \'{{define "partial"}}redefined-in-tpl{{end}}tpl: {{include "partial" .}}\'',
        'manifestOnlyText: \'tpl: {{include "manifest-only" .}}\'',
        'dot:',
        '  Template:',
        '    BasePath: path/to/template',
        '    Name: name-of-template',
      ].join('\n'),
    );
    const templates: Record<string, string> = {
      test1: '{{.Values.outer | title }} {{.Values.inner | title}}',
      test3: '{{.noValue}}',
      dns: '{{getHostByName "helm.sh"}}',
      _partials: '{{define "partial"}}original-in-partial{{end}}',
      partial: 'before: {{include "partial" .}}\n{{tpl .Values.partialText .}}\nafter: {{include "partial" .}}',
      'manifest-only': '{{define "manifest-only"}}only-in-manifest{{end}}before: {{include "manifest-only" .}}\n{{tpl .Values.manifestOnlyText .}}\nafter: {{include "manifest-only" .}}',
      'default-basepath': '{{tpl "{{ .Template.BasePath }}" .}}',
      'default-name': '{{tpl "{{ .Template.Name }}" .}}',
      'modified-name': '{{tpl "{{ .Template.Name }}" .Values.dot}}',
      'tpl-empty': '{{tpl "" .}}{{tpl "{{define \\"not-invoked\\"}}not-rendered{{end}}" .}}',
      'tpl-missing': 'missingValue: {{tpl "{{.Values.noSuchKey}}" .}}',
      files: '{{.Files.author | printf "%s"}}',
      isroot: '{{.Chart.IsRoot}}',
      _function: '{{define "overlook"}}{{printf "All work and no play\\n"}}{{end}}',
      overlook: '{{include "overlook" . }}'.repeat(4000),
    };
    for (const [name, text] of Object.entries(templates)) fs.writeFileSync(path.join(dir, 'templates', name), text);
    // Helm's engine tests look at each template's raw output, before manifests are split.
    const raw = JSON.parse(helmTemplateOk(['rel', dir, '--dump-rendered'], { standIn: true })) as Record<string, string>;
    const docs = new Map(Object.entries(raw).map(([k, v]) => [k.replace(/^moby\/templates\//, ''), v]));
    expect(Object.fromEntries([...docs].filter(([k]) => k !== 'overlook'))).toStrictEqual({
      test1: 'Spouter Inn',
      test3: '',
      dns: '',
      'tpl-empty': '',
      partial: 'before: original-in-partial\ntpl: redefined-in-tpl\nafter: original-in-partial',
      'manifest-only': 'before: only-in-manifest\ntpl: only-in-manifest\nafter: only-in-manifest',
      'default-basepath': 'moby/templates',
      'default-name': 'moby/templates/default-name',
      'modified-name': 'name-of-template',
      'tpl-missing': 'missingValue: ',
      files: 'Virgil',
      isroot: 'true',
    });
    expect(docs.get('overlook')).toBe('All work and no play\n'.repeat(4000));
  });

  test('function outputs from Helm\'s funcs tests (toYaml, toJson, fromYaml/Array, fromJson/Array, merge, lookup, toSeconds)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ht-funcs-'));
    fs.mkdirSync(path.join(dir, 'templates'));
    fs.writeFileSync(path.join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: f\nversion: 0.1.0\n');
    fs.writeFileSync(path.join(dir, 'values.yaml'), ['list: "- one\\n- 2\\n- name: helm\\n"', 'listTwo: "- one\\n- two\\n"', 'dict:', '  a:', '    b: c', "yaml: '{\"a\":{\"b\":\"d\"}}'"].join('\n'));
    const templates: Record<string, string> = {
      toYaml: '{{ toYaml (dict "foo" "bar") }}',
      toJson: '{{ toJson (dict "foo" "bar") }}',
      fromYaml: '{{ fromYaml "hello: world" }}',
      fromYamlArray: '{{ fromYamlArray .Values.list }}',
      fromYamlArrayFlow: '{{ fromYamlArray `["one", 2, { "name": "helm" }]` }}',
      fromYamlError: '{{ fromYaml .Values.listTwo }}',
      fromJson: '{{ fromJson `{"hello":"world"}` }}',
      fromJsonError: '{{ fromJson `["one", "two"]` }}',
      fromJsonArray: '{{ fromJsonArray `["one", 2, { "name": "helm" }]` }}',
      fromJsonArrayError: '{{ fromJsonArray `{"hello": "world"}` }}',
      mergeDictFirst: '{{ merge (deepCopy .Values.dict) (fromYaml .Values.yaml) }}',
      mergeYamlFirst: '{{ merge (fromYaml .Values.yaml) (deepCopy .Values.dict) }}',
      fromYamlArrayError: '{{ fromYamlArray "hello: world" }}',
      lookup: '{{ lookup "v1" "Namespace" "" "unlikelynamespace99999999" }}',
      toSeconds: '{{ toSeconds "1h" }}',
      toMilliSeconds: '{{ toMilliSeconds "1h" }}',
    };
    for (const [name, text] of Object.entries(templates)) fs.writeFileSync(path.join(dir, 'templates', name), text);
    const raw = JSON.parse(helmTemplateOk(['rel', dir, '--dump-rendered'], { standIn: true })) as Record<string, string>;
    expect(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(/^f\/templates\//, ''), v]))).toStrictEqual({
      toYaml: 'foo: bar',
      toJson: '{"foo":"bar"}',
      fromYaml: 'map[hello:world]',
      fromYamlArray: '[one 2 map[name:helm]]',
      fromYamlArrayFlow: '[one 2 map[name:helm]]',
      fromYamlError: 'map[Error:error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}]',
      fromJson: 'map[hello:world]',
      fromJsonError: 'map[Error:json: cannot unmarshal array into Go value of type map[string]interface {}]',
      fromJsonArray: '[one 2 map[name:helm]]',
      fromJsonArrayError: '[json: cannot unmarshal object into Go value of type []interface {}]',
      mergeDictFirst: 'map[a:map[b:c]]',
      mergeYamlFirst: 'map[a:map[b:d]]',
      fromYamlArrayError: '[error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []interface {}]',
      lookup: 'map[]',
      toSeconds: '3600',
      toMilliSeconds: '3600000',
    });
  });

  test('error texts from Helm\'s engine tests: parse errors, required with colons and newlines, fail position, include recursion', () => {
    const chart = (templates: Record<string, string>): string => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ht-err-'));
      fs.mkdirSync(path.join(dir, 'templates'));
      fs.writeFileSync(path.join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: c\nversion: 0.1.0\n');
      for (const [name, text] of Object.entries(templates)) fs.writeFileSync(path.join(dir, 'templates', name), text);
      return helmTemplate(['rel', dir], { standIn: true }).stderr;
    };
    expect(chart({ undefined_function: '{{foo}}' })).toBe('Error: parse error at (c/templates/undefined_function:1): function "foo" not defined\n');
    expect(chart({ colons: '{{required ":this: message: has many: colons:" .Values.foo}}' })).toBe('Error: execution error at (c/templates/colons:1:2): :this: message: has many: colons:\n');
    expect(chart({ issue6044: '{{ $someEmptyValue := "" }}\n{{ $myvar := "abc" }}\n{{- required (printf "%s: something is missing" $myvar) $someEmptyValue | repeat 0 }}' })).toBe(
      'Error: execution error at (c/templates/issue6044:3:4): abc: something is missing\n',
    );
    expect(chart({ issue9981: '{{required "foo is required\\nmore info after the break" .Values.foo}}' })).toBe('Error: execution error at (c/templates/issue9981:1:2): foo is required\nmore info after the break\n');
    expect(chart({ failtpl: 'All your base are belong to us{{ fail "This is an error" }}' })).toBe('Error: execution error at (c/templates/failtpl:1:33): This is an error\n');
    expect(chart({ base: '{{include "recursion" . }}', recursion: '{{define "recursion"}}{{include "recursion" . }}{{end}}' })).toMatch(/rendering template has a nested reference name: recursion: unable to execute template\n$/);
  });

  // Expected results of Helm's pkg/strvals parser tests (TestParseSet, TestParseJSON), through --set.
  const EMPTY = 'tools/helm-template/testdata/empty';
  const parsed = (flag: string, str: string): unknown => {
    const r = helmTemplate(['x', EMPTY, '--print-values', flag, str], { standIn: true });
    return r.status === 0 ? JSON.parse(r.stdout) : 'error';
  };
  test.each<[string, unknown]>([
    ['name1=null,f=false,t=true', { name1: null, f: false, t: true }],
    ['name1=value1,name2=value2,', { name1: 'value1', name2: 'value2' }],
    ['name1=value1,,,,name2=value2,', 'error'],
    ['name1=,name2=value2', { name1: '', name2: 'value2' }],
    ['leading_zeros=00009', { leading_zeros: '00009' }],
    ['zero_int=0', { zero_int: 0 }],
    ['long_int=1234567890', { long_int: 1234567890 }],
    ['name1,name2=', 'error'],
    ['name1,name2=value2\\', 'error'],
    ['name1=one\\,two,name2=three\\,four', { name1: 'one,two', name2: 'three,four' }],
    ['name1=one\\=two,name2=three\\=four', { name1: 'one=two', name2: 'three=four' }],
    ['name1=one two three,name2=three two one', { name1: 'one two three', name2: 'three two one' }],
    ['outer.inner1=value,outer.middle.inner=value', { outer: { inner1: 'value', middle: { inner: 'value' } } }],
    ['name1.name2', 'error'],
    ['name1.name2,name1.name3', 'error'],
    ['name1.name2=', { name1: { name2: '' } }],
    ['name1.=name2', 'error'],
    ['name1.,name2', 'error'],
    ['name1={value1,value2},name2={value1,value2}', { name1: ['value1', 'value2'], name2: ['value1', 'value2'] }],
    ['name1={1021,902}', { name1: [1021, 902] }],
    ['name1={1021,902', 'error'],
    ['list[0].foo=bar,list[0].hello=world', { list: [{ foo: 'bar', hello: 'world' }] }],
    ['list[0].foo=bar,list[-30].hello=world', 'error'],
    ['list[0]=foo,list[3]=bar', { list: ['foo', null, null, 'bar'] }],
    ['illegal[0]name.foo=bar', 'error'],
    ['noval[0]', { noval: [] }],
    ['noval[0]=', { noval: [''] }],
    ['nested[1][1]=1', { nested: [null, [null, 1]] }],
    ['name1.name2[1].foo=bar,name1.name2[0].foo=bar', { name1: { name2: [{ foo: 'bar' }, { foo: 'bar' }] } }],
    ['name1.name2[1].foo=bar', { name1: { name2: [null, { foo: 'bar' }] } }],
    [']={}].', 'error'],
  ])('--set %s parses like Helm', (str, expected) => {
    expect(parsed('--set', str)).toStrictEqual(expected);
  });

  test('--set-string, --set-json and --set-literal parse like Helm', () => {
    expect(parsed('--set-string', 'long_int_string=1234567890,boolean=true,is_null=null,zero=0')).toStrictEqual({ long_int_string: '1234567890', boolean: 'true', is_null: 'null', zero: '0' });
    expect(parsed('--set-json', 'outer.inner1="1",outer.inner3=3,outer.inner4=true,outer.inner5="true"')).toStrictEqual({ outer: { inner1: '1', inner3: 3, inner4: true, inner5: 'true' } });
    expect(parsed('--set-json', 'outer.inner1={"a":"1","b":2,"c":[1,2,3]},outer.inner3=["new value 1","new value 2"]')).toStrictEqual({ outer: { inner1: { a: '1', b: 2, c: [1, 2, 3] }, inner3: ['new value 1', 'new value 2'] } });
    expect(parsed('--set-json', 'outer.inner1=,outer.inner3={"aa":"1","cc":[1,2,3]},outer.inner3.cc[1]=null')).toStrictEqual({ outer: { inner1: null, inner3: { aa: '1', cc: [1, null, 3] } } });
    expect(parsed('--set-json', 'outer.inner5={"A":"1"}]')).toBe('error');
    expect(parsed('--set-literal', 'lit=a,b\\c{d}')).toStrictEqual({ lit: 'a,b\\c{d}' });
  });

  test('--set into a value of another type fails like Helm instead of replacing it', () => {
    const r = helmTemplate(['x', EMPTY, '--print-values', '--set', 'a=1', '--set', 'a.b=2'], { standIn: true });
    expect(r.stderr).toBe('Error: failed parsing --set data: unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}\n');
  });

  test('--show-only limits output; an unknown template is an error', () => {
    const out = helmTemplateOk(['rel', CHART, '-s', 'templates/deployment.yaml'], { standIn: true });
    expect(parseManifests(out).map((m) => m.object['kind'])).toStrictEqual(['Deployment']);
    expect(helmTemplate(['rel', CHART, '-s', 'templates/nope.yaml'], { standIn: true }).stderr).toBe('Error: could not find template templates/nope.yaml in chart\n');
  });

  test('--include-crds prints crds/ first (chart, then enabled CRD-only subcharts by dependency condition); without it CRDs are omitted', () => {
    const headers = (args: string[]): string[] => [...helmTemplateOk(['rel', CHART, ...args], { standIn: true }).matchAll(/^# Source: (.*)$/gm)].map((m) => m[1]!);
    expect(headers([])).not.toContain('tricky/crds/gadgets.yaml');
    expect(headers(['--include-crds']).slice(0, 2)).toStrictEqual(['tricky/crds/gadgets.yaml', 'tricky/templates/configmap.yaml']);
    expect(headers(['--include-crds', '--set', 'extra.enabled=true']).slice(0, 2)).toStrictEqual(['tricky/crds/gadgets.yaml', 'tricky/charts/extra/crds/widgets.yaml']);
  });

  test('bad input names the problem: invalid release names, unknown flags, broken --set', () => {
    expect(helmTemplate(['Bad_Name', CHART], { standIn: true }).stderr).toContain('invalid release name');
    expect(helmTemplate(['rel', CHART, '--frobnicate'], { standIn: true }).stderr).toContain('unknown flag: --frobnicate');
    expect(helmTemplate(['rel', CHART, '--set', 'a.b'], { standIn: true }).stderr).toBe('Error: failed parsing --set data: key "b" has no value\n');
  });

  test('bin/helm-template runs real helm (`helm template ARGS`) when one is on PATH, unless HELM_TEMPLATE_STANDIN=1', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-helm-'));
    fs.writeFileSync(path.join(dir, 'helm'), '#!/bin/sh\necho "real helm: $*"\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` };
    const viaHelm = spawnSync(path.join(REPO_ROOT, 'bin/helm-template'), ['rel', CHART, '--set', 'a=b'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
    expect(viaHelm.stdout).toBe(`real helm: template rel ${CHART} --set a=b\n`);
    const forced = spawnSync(path.join(REPO_ROOT, 'bin/helm-template'), ['rel', CHART], { cwd: REPO_ROOT, env: { ...env, HELM_TEMPLATE_STANDIN: '1' }, encoding: 'utf8' });
    expect(forced.stdout).toContain('# Source: tricky/templates/configmap.yaml');
  });

  test('the binary is cached under .local/ and rebuilt when sources change (cache key = source hash)', () => {
    helmTemplateOk(['rel', CHART], { standIn: true });
    const dirs = fs.readdirSync(path.join(REPO_ROOT, '.local/helm-template'));
    const hash = spawnSync('sh', ['-c', 'cat tools/helm-template/*.go | sha256sum | cut -c1-16'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim();
    expect(dirs).toContain(hash);
  });
});
