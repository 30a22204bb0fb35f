// The release layout, as Maven Central requires it (https://central.sonatype.org/publish/requirements/):
// every published module has a jar, a sources jar and a Javadoc jar, and its POM (with the parent's) carries
// name, description, url, licenses, developers and scm; the BOM lists every published module and nothing else.
// Published modules are those of the root pom that do not set maven.deploy.skip. Signatures and checksums are
// added by the release profile and the publishing plugin (docs/releasing.md), so they are not checked here.
import groovy.xml.XmlSlurper
import java.util.zip.ZipFile

File root = new File(projectRoot).canonicalFile
String version = projectVersion
File repo = new File(localRepositoryPath, 'org/idempotency')
List<String> problems = []

def parse = { File f -> new XmlSlurper().parse(f) }
def text = { node -> node.text().trim() }

def rootPom = parse(new File(root, 'pom.xml'))
List<String> modules = rootPom.modules.module*.text()
List<String> published = modules.findAll { String m ->
    def pom = parse(new File(root, "$m/pom.xml"))
    text(pom.properties.'maven.deploy.skip') != 'true'
}
println "Published modules: $published"
if (!published.contains('bom') || published.size() < 2) {
    problems << "unexpected list of published modules: $published"
}

def pomFile = { String artifactId -> new File(repo, "$artifactId/$version/$artifactId-${version}.pom") }

// one POM and the POMs it inherits from, nearest first
def lineage
lineage = { String artifactId ->
    File f = pomFile(artifactId)
    if (!f.isFile()) {
        problems << "missing POM $f"
        return []
    }
    def pom = parse(f)
    String parent = text(pom.parent.artifactId)
    parent ? [pom] + lineage(parent) : [pom]
}

def checkMetadata = { String artifactId ->
    def poms = lineage(artifactId)
    if (poms.isEmpty()) {
        return
    }
    def own = poms[0]
    ['name', 'description'].each { field ->
        if (!text(own."$field")) {
            problems << "$artifactId: no <$field> of its own"
        }
    }
    def first = { Closure<String> get -> poms.collect(get).find { it } }
    Map<String, String> required = [
        'url'                    : first { text(it.url) },
        'licenses/license/name'  : first { text(it.licenses.license[0].name) },
        'licenses/license/url'   : first { text(it.licenses.license[0].url) },
        'developers/developer'   : first { text(it.developers.developer[0].name) },
        'scm/connection'         : first { text(it.scm.connection) },
        'scm/developerConnection': first { text(it.scm.developerConnection) },
        'scm/url'                : first { text(it.scm.url) },
    ]
    required.each { field, value ->
        if (!value) {
            problems << "$artifactId: no <$field>, neither its own nor inherited"
        }
    }
    if (required.url && !required.url.startsWith('https://')) {
        problems << "$artifactId: url is not https: ${required.url}"
    }
}

def checkJar = { String artifactId, String classifier, Closure<Boolean> wanted, String what ->
    String suffix = classifier ? "-$classifier" : ''
    File jar = new File(repo, "$artifactId/$version/$artifactId-$version${suffix}.jar")
    if (!jar.isFile()) {
        problems << "missing $jar"
        return
    }
    new ZipFile(jar).withCloseable { zip ->
        if (!zip.entries().toList().any { wanted(it.name) }) {
            problems << "${jar.name} holds no $what"
        }
    }
}

checkMetadata('idempotency-parent')
published.each { String module ->
    def pom = parse(new File(root, "$module/pom.xml"))
    String artifactId = text(pom.artifactId)
    String packaging = text(pom.packaging) ?: 'jar'
    checkMetadata(artifactId)
    if (packaging == 'jar') {
        checkJar(artifactId, null, { it == 'META-INF/LICENSE' }, 'META-INF/LICENSE')
        checkJar(artifactId, null, { it.endsWith('.class') }, 'classes')
        checkJar(artifactId, 'sources', { it.endsWith('.java') }, 'Java sources')
        checkJar(artifactId, 'javadoc', { it == 'index.html' }, 'index.html')
    }
}

// the BOM: our published jars, each at the BOM's own version, and nothing else
def bom = parse(pomFile('bom'))
Set<String> listed = bom.dependencyManagement.dependencies.dependency.collect { d ->
    if (text(d.groupId) != 'org.idempotency') {
        problems << "the BOM lists a third-party artifact: ${text(d.groupId)}:${text(d.artifactId)}"
    }
    if (!(text(d.version) in [version, '${project.version}'])) {
        problems << "the BOM lists ${text(d.artifactId)} at ${text(d.version)}, not at its own version"
    }
    text(d.artifactId)
} as Set
Set<String> jars = published.findAll { m ->
    (text(parse(new File(root, "$m/pom.xml")).packaging) ?: 'jar') == 'jar'
}.collect { m -> text(parse(new File(root, "$m/pom.xml")).artifactId) } as Set
if (listed != jars) {
    problems << "the BOM lists $listed, the published jars are $jars"
}

if (problems) {
    problems.each { println "RELEASE LAYOUT: $it" }
    throw new AssertionError("The release layout is incomplete:\n  " + problems.join('\n  '))
}
println "Release layout complete: ${published.size()} published POMs with Central's metadata; jars with sources and Javadoc"
return true
