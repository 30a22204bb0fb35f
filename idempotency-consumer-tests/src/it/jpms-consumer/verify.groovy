// The application ran on the module path with no other flag, and docs/jpms.md shows what it needs: this
// project's module-info.java and the command that ran it.
File log = new File(basedir, 'build.log')
String out = log.getText('UTF-8')
assert out.contains('JPMS consumer: every check passed on the module path'): 'the modular application did not pass'
assert out.contains("store 'redis' from module org.idempotency.redis")
assert out.contains('Kafka handler from module org.idempotency.kafka')
assert out.contains('a result type in a package not opened to Jackson is refused up front')

// the command exec-maven-plugin ran (its arguments in pom.xml): the module path and the main module, nothing more;
// the application itself checked that it runs as a named module with an empty class path
def pom = new groovy.xml.XmlSlurper().parse(new File(basedir, 'pom.xml'))
def arguments = pom.build.plugins.plugin.find { it.artifactId.text() == 'exec-maven-plugin' }
        .executions.execution.configuration.arguments.children().collect { it.name() == 'modulepath' ? '<the jars>' : it.text() }
String expected = 'java ' + arguments.join(' ')
assert expected == 'java --module-path <the jars> --module com.example.orders/com.example.orders.Main'

String docs = new File(projectRoot, 'docs/jpms.md').getText('UTF-8')
String descriptor = new File(basedir, 'src/main/java/module-info.java').getText('UTF-8').trim()
assert docs.contains(descriptor): "docs/jpms.md does not show the consumer's module-info.java:\n$descriptor"
assert docs.contains(expected): "docs/jpms.md does not show the command: $expected"
return true
