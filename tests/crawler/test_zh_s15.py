"""Session 15's Chinese fixes, each beside the near miss it must not catch.

A clean-up in a prefecture or a development zone (乌兰察布, 准东开发区) has a mainland place
and actor, but one in Kazakhstan does not; the party's lighter sanctions (党内严重警告,
留党察看) and an official's former title (原局长) tell discipline, not commentary, but an
official's own view does not; live-streaming apps (斗鱼) and blacklisting (拉黑) police
crypto accounts, not other ones; a power surcharge on mining (加征电价) is an act; a case
broken in headline-ese (海關破洗黑錢集團) is an arrest that keeps its laundering; sites
posing as licensed (冒充持牌) and a licensee's standing taken (取消持牌人資格) are
enforcement, not licensing; the Narcotics Bureau is Hong Kong's police, Macau's is not;
a court dismissing the rest of a claim it granted (驳回原告其他诉讼请求) settles commerce,
but one refusing a crypto claim, or voiding a mining contract, acts; hearsay in the lead
(网传, 假的！) and a notice answering a quoted claim (关于“……”的说明) tell no act, but a
platform's notice of its own closure does; a mall's tokens (商城代币) are no coin.
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"

CASES = [
    # a prefecture and a development zone are mainland places and actors; Kazakhstan is not
    (
        "乌兰察布关停12家比特币矿场",
        "当地对辖区内从事比特币挖矿的企业全部断电，限期搬离。",
        True,
    ),
    (
        "哈萨克斯坦关停12家比特币矿场",
        "当地对辖区内从事比特币挖矿的企业全部断电，限期搬离。",
        False,
    ),
    (
        "准东开发区关停虚拟货币“挖矿”企业",
        "开发区对利用自备电厂从事虚拟货币挖矿的企业实施关停，切断其电力供应。",
        True,
    ),
    (
        "准东开发区关停一批高耗能企业",
        "开发区对利用自备电厂生产的高耗能企业实施关停，切断其电力供应。",
        False,
    ),
    # the party's lighter sanctions, and a former title in a discipline headline
    (
        "一国企干部违规炒币受处分",
        "某国有企业财务部副经理利用工作时间参与虚拟货币交易，违反工作纪律，受到党内严重警告处分。",
        True,
    ),
    (
        "一国企干部违规炒股受处分",
        "某国有企业财务部副经理利用工作时间炒股，违反工作纪律，受到党内严重警告处分。",
        False,
    ),
    ("某局原局长利用职权参与虚拟货币挖矿被双开", "", True),
    ("某供电所所长违规投资虚拟币留党察看", "", True),
    (
        "央行原副行长：虚拟货币监管要保持高压态势",
        "在日前举行的一场论坛上，央行原副行长表示，对虚拟货币交易炒作要保持高压态势。",
        False,
    ),
    # live-streaming apps and blacklisting police crypto accounts, not other ones
    (
        "斗鱼封禁一批虚拟币喊单主播",
        "斗鱼发布公告，对一批在直播间推荐虚拟币、诱导粉丝炒币的主播予以封禁。",
        True,
    ),
    ("斗鱼封禁一批低俗主播", "斗鱼发布公告，对一批传播低俗内容的主播予以封禁。", False),
    (
        "一批币圈引流账号被拉黑",
        "微博社区管理发布公告，已将一批诱导用户到境外平台炒币的账号拉黑。",
        True,
    ),
    ("一批营销账号被拉黑", "微博社区管理发布公告，已将一批发布虚假广告的营销账号拉黑。", False),
    # a power surcharge on mining is an act
    ("宁夏对虚拟货币挖矿企业加征电价", "", True),
    ("宁夏对大数据中心上调电价", "", False),
    # a case broken, in Hong Kong headline-ese
    ("海關破洗黑錢集團 涉加密貨幣", "", True),
    ("海關破洗黑錢集團 涉找換店", "", False),
    # sites posing as licensed, and a licensee disqualified, are enforcement
    (
        "證監會：三個網站冒充持牌虛擬資產平台",
        "證監會表示，三個網站冒充持牌虛擬資產交易平台，已要求互聯網服務供應商封鎖網站。",
        True,
    ),
    (
        "證監會向第三家虛擬資產平台發牌",
        "證監會表示，已向一家虛擬資產交易平台批出牌照，持牌平台增至三家。",
        False,
    ),
    ("證監會取消一名持牌人資格 涉推廣虛擬資產", "", True),
    ("證監會取消一名持牌人資格 涉挪用客戶資金", "", False),
    # Hong Kong's Narcotics Bureau is its police; Macau's judiciary police are not ours
    ("", "毒品調查科昨日拘捕三名男子，涉嫌利用虛擬貨幣清洗黑錢約五千萬元。", True),
    ("", "澳門司法警察局昨日拘捕三名男子，涉嫌利用虛擬貨幣清洗黑錢約五千萬元。", False),
    # the rest of a claim dismissed is commerce; a crypto claim refused, or a void
    # mining contract with the rest dismissed, is an act
    (
        "某矿机厂商与经销商货款纠纷二审宣判",
        "法院二审判决经销商向该矿机厂商支付货款，驳回该矿机厂商其他诉讼请求。",
        False,
    ),
    (
        "某交易所运营方与前员工竞业限制纠纷二审宣判",
        "法院判决前员工向某交易所运营方支付违约金，驳回某交易所运营方其他诉讼请求。",
        False,
    ),
    (
        "矿机托管合同纠纷一审宣判",
        "法院认为，案涉合同以虚拟货币挖矿为目的，违背公序良俗，合同无效，判令被告返还部分"
        "托管费，驳回原告其他诉讼请求。",
        True,
    ),
    (
        "借钱给朋友炒币 起诉还款被驳回",
        "法院认为，借款用于购买虚拟货币，原告对此明知，驳回原告全部诉讼请求。",
        True,
    ),
    # hearsay in the lead tells no act; a hearsay lead confirmed by police does
    (
        "网传“全国矿场月底前全部断电”？官方回应",
        "近日，一则“全国矿场月底前全部断电”的消息在社交媒体流传。相关部门已辟谣，请勿传播。",
        False,
    ),
    (
        "持有USDT将被判刑？假的！",
        "有网友发帖称“持有USDT将被判刑”。官方回应称，从未发布过相关文件，纯属谣言。",
        False,
    ),
    (
        "网传某交易所被查封？警方证实已立案",
        "某市公安局通报，已对该虚拟货币交易所涉嫌非法经营立案侦查，冻结涉案资金3000万元。",
        True,
    ),
    # a notice answering a claim in quotes (关于“……”的说明) tells no act, but a platform's
    # notice of its own closure does
    (
        "关于“央行将冻结所有炒币账户”的说明",
        "针对网上“央行将冻结所有炒币账户”的说法，经核实，该信息系旧闻翻炒，并非最新情况。",
        False,
    ),
    (
        "关于停止为中国大陆用户提供服务的说明",
        "根据监管要求，本平台即日起停止为中国大陆用户提供虚拟货币交易服务，并关闭相关账户。",
        True,
    ),
    # a mall's tokens are no coin; tokens issued to raise money are
    ("警方破获倒卖商城代币诈骗案", "", False),
    ("警方破获以发行代币为名的非法集资案", "", True),
]


@pytest.mark.parametrize(("title", "text", "alerts"), CASES, ids=[c[0] or c[1][:12] for c in CASES])
def test_s15_case(matcher: Matcher, title: str, text: str, alerts: bool) -> None:
    assert (TOPIC in match(matcher, title, text).topics) is alerts, (title, text)


def test_a_case_broken_keeps_its_laundering(matcher: Matcher) -> None:
    """破洗黑 is cut short so 洗黑錢 still names money laundering beside the arrest."""
    result = match(matcher, "海關破洗黑錢集團 涉加密貨幣")
    assert TOPIC in result.topics
    assert "money-laundering" in result.entities
