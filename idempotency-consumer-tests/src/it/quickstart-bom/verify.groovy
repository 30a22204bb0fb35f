// The quick start ran and printed its result; and the README's XML (the BOM import and the dependency) is what
// this project's pom.xml uses, versions aside (the README names a released or the current version).
File log = new File(basedir, 'build.log')
assert log.text.contains('Quick start: charged once, the duplicate got the same receipt'): 'the quick start did not run'

def normalise = { String xml ->
    xml.readLines()*.trim().findAll { it }.join('\n').replaceAll('<version>[^<]*</version>', '<version/>')
}
String readme = new File(projectRoot, 'README.md').getText('UTF-8')
String pom = normalise(new File(basedir, 'pom.xml').getText('UTF-8'))
def blocks = (readme =~ /(?s)```xml\n(.*?)\n```/).collect { it[1] }
assert blocks.size() >= 2: "README.md shows ${blocks.size()} XML blocks; expected the dependency and the BOM import"
blocks.each { block ->
    assert pom.contains(normalise(block)): "README.md's XML is not what the consumer project uses:\n$block"
}
return true
