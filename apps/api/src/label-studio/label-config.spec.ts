import { LabelConfigError, parseLabelConfig } from './label-config';

// The two templates Label Studio ships for classification, as LS sends them (comments and whitespace kept).
const TEXT_TEMPLATE = `<View>
  <Text name="text" value="$text"/>
  <View style="box-shadow: 2px 2px 5px #999; padding: 20px; margin-top: 2em; border-radius: 5px;">
    <Header value="Choose text sentiment"/>
    <Choices name="sentiment" toName="text" choice="single" showInLine="true">
      <Choice value="Positive"/>
      <Choice value="Negative"/>
      <Choice value="Neutral"/>
    </Choices>
  </View>
</View>
<!-- {"data": {"text": "This is a great 3D movie"}} -->`;

const IMAGE_TEMPLATE = `<View>
  <Image name="image" value="$image"/>
  <Choices name="choice" toName="image">
    <Choice value="Adult content"/>
    <Choice value="Weapons" />
    <Choice value="Violence" />
  </Choices>
</View>`;

describe('parseLabelConfig', () => {
  it('reads the text classification template', () => {
    expect(parseLabelConfig(TEXT_TEMPLATE)).toEqual({
      fromName: 'sentiment',
      toName: 'text',
      objectType: 'Text',
      inputKind: 'text',
      dataKey: 'text',
      choices: ['Positive', 'Negative', 'Neutral'],
    });
  });

  it('reads the image classification template', () => {
    expect(parseLabelConfig(IMAGE_TEMPLATE)).toMatchObject({
      fromName: 'choice',
      toName: 'image',
      objectType: 'Image',
      inputKind: 'image',
      dataKey: 'image',
      choices: ['Adult content', 'Weapons', 'Violence'],
    });
  });

  it('prefers alias over value and follows a toName list', () => {
    const config = parseLabelConfig(
      `<View><Header value="x"/><Text name="body" value="$review"/>
       <Choices name="c" toName="missing, body" choice="multiple">
         <Choice value="Good one" alias="good"/><Choice value="bad"/>
       </Choices></View>`,
    );
    expect(config).toMatchObject({
      toName: 'body',
      dataKey: 'review',
      choices: ['good', 'bad'],
    });
  });

  it.each([
    ['', /empty/],
    ['<View><Text name="t" value="$t"></View>', /not valid XML: Expected closing tag 'Text'.*line 1/],
    ['<View><Text name="t" value="$t"/></View>', /no <Choices> control/],
    [
      '<View><Text name="t" value="$t"/><Choices name="a" toName="t"><Choice value="x"/></Choices><Choices name="b" toName="t"><Choice value="y"/></Choices></View>',
      /2 <Choices> controls \(a, b\)/,
    ],
    ['<View><Text name="t" value="$t"/><Choices name="a"><Choice value="x"/></Choices></View>', /no toName/],
    [
      '<View><Audio name="t" value="$t"/><Choices name="a" toName="t"><Choice value="x"/></Choices></View>',
      /toName="t" names no <Text>, <HyperText> or <Image> tag/,
    ],
    [
      '<View><Text name="t" value="hello"/><Choices name="a" toName="t"><Choice value="x"/></Choices></View>',
      /value must be a task data reference/,
    ],
    ['<View><Text name="t" value="$t"/><Choices name="a" toName="t"></Choices></View>', /no <Choice> values/],
    [
      '<View><Text name="t" value="$t"/><Choices name="a" toName="t"><Choice value="x"/><Choice value="x"/></Choices></View>',
      /lists the choice "x" twice/,
    ],
    [
      '<View><Text name="t" value="$t"/><Choices name="a" toName="t" value="$options"/></View>',
      /dynamic choices/,
    ],
  ])('rejects %j naming the problem', (xml, message) => {
    expect(() => parseLabelConfig(xml)).toThrow(LabelConfigError);
    expect(() => parseLabelConfig(xml)).toThrow(message);
  });
});
